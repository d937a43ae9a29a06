import { readFileSync } from 'fs';
import * as path from 'path';
import {
  CloudFormationValidatePlugin,
  type IPolicyValidationContext,
  type PolicyValidationPluginReport,
  type PolicyValidationStack,
} from 'aws-cdk-lib';
import { version as cdkVersion } from 'aws-cdk-lib/package.json';
import { z } from 'zod';
import { CacheEntry, matchesSchema, sha256, synthCacheDir } from '../src/synth-cache';

/**
 * The kind of cache entry, with the version of its format (see CacheEntry): raise it when
 * CachedValidation or the meaning of its fields changes.
 */
export const VALIDATION_CACHE_KIND = 'cloudformation-validation-v2';

const stringMap = z.record(z.string(), z.string());

/** aws-cdk-lib's report, as checked on the way back from the cache. */
const reportSchema = z.object({
  success: z.boolean(),
  pluginVersion: z.string().optional(),
  metadata: stringMap.optional(),
  violations: z.array(
    z.object({
      ruleName: z.string(),
      description: z.string(),
      fix: z.string().optional(),
      severity: z.string().optional(),
      ruleMetadata: stringMap.optional(),
      violatingResources: z.array(
        z.object({
          resourceLogicalId: z.string().optional(),
          constructPath: z.string().optional(),
          locations: z.array(z.string()),
          templatePath: z.string().optional(),
        }),
      ),
    }),
  ),
}) satisfies z.ZodType<PolicyValidationPluginReport>;

/** A validation report as cached: template paths as the index of their stack in the context. */
const cachedValidationSchema = z.object({ fingerprint: z.string(), report: reportSchema });
type CachedValidation = z.infer<typeof cachedValidationSchema>;
const isCachedValidation = matchesSchema(cachedValidationSchema);

type TemplatePathMapping = (templatePath: string | undefined) => string | undefined;

function withTemplatePaths(
  report: PolicyValidationPluginReport,
  mapping: TemplatePathMapping,
): PolicyValidationPluginReport {
  return {
    ...report,
    violations: report.violations.map((violation) => ({
      ...violation,
      violatingResources: violation.violatingResources.map((resource) => ({
        ...resource,
        templatePath: mapping(resource.templatePath),
      })),
    })),
  };
}

function pathsToIndexes(stacks: readonly PolicyValidationStack[]): TemplatePathMapping {
  return (templatePath) => {
    const index = stacks.findIndex((stack) => stack.templatePath === templatePath);
    return index < 0 ? templatePath : String(index);
  };
}

function indexesToPaths(stacks: readonly PolicyValidationStack[]): TemplatePathMapping {
  return (templatePath) =>
    templatePath !== undefined && /^\d+$/.test(templatePath)
      ? stacks[Number(templatePath)]?.templatePath
      : templatePath;
}

let installed = false;

/**
 * Make the CDK's built-in CloudFormation validation (which `cdk synth` runs on every template)
 * remember its report for templates it has seen. Loading its engine alone costs about 2 s of
 * CPU and each template another half second: two thirds of a synth of this app, spent again on
 * every synth whose templates did not change (the next `cdk deploy`, a re-run, the base of
 * `npm run diff`). The report is a function of the templates, of the engine and rules that
 * aws-cdk-lib bundles, and of the plugin's configuration: the cache entry is reused only when
 * all of them are the same.
 *
 * The built-in plugin is patched rather than replaced, because an explicitly registered
 * plugin is listed in the stack's CDKMetadata, which would change every template.
 */
export function cacheCloudFormationValidation(): void {
  if (installed) return;
  installed = true;
  const validate = CloudFormationValidatePlugin.prototype.validate;
  CloudFormationValidatePlugin.prototype.validate = function cachedValidate(
    this: CloudFormationValidatePlugin,
    context: IPolicyValidationContext,
  ): PolicyValidationPluginReport {
    // The rules and schemas the plugin was configured with; a plugin whose configuration
    // cannot be seen (another aws-cdk-lib layout) is not cached.
    const configuration: unknown = Reflect.get(this, 'props');
    if (configuration === undefined) return validate.call(this, context);
    const stacks = context.stackTemplates;
    const entry = new CacheEntry<CachedValidation>(
      VALIDATION_CACHE_KIND,
      stacks.map((stack) => [
        stack.stackConstructPath,
        path.basename(stack.templatePath),
        stack.accountId ?? null,
        stack.region ?? null,
      ]),
      synthCacheDir(),
    );
    const fingerprint = sha256(
      JSON.stringify({
        // The engine (@aws/cloudformation-validate) and the rules are bundled in aws-cdk-lib.
        cdkVersion,
        configuration,
        templates: stacks.map((stack) => sha256(readFileSync(stack.templatePath))),
      }),
    );
    const cached = entry.read(isCachedValidation);
    if (cached?.fingerprint === fingerprint) {
      return withTemplatePaths(cached.report, indexesToPaths(stacks));
    }
    const report = validate.call(this, context);
    entry.write({ fingerprint, report: withTemplatePaths(report, pathsToIndexes(stacks)) });
    return report;
  };
}
