import { synthesizeAndValidateEnvironment } from './stacks';

describe('synthesizeAndValidateEnvironment', () => {
  const saved = process.env.CDK_VALIDATION;
  afterEach(() => {
    if (saved === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = saved;
  });

  it('refuses to report "no findings" when the CloudFormation validation did not run', () => {
    // What `cdk synth --no-validation` sets; without the check, every template would pass.
    process.env.CDK_VALIDATION = 'false';
    expect(() => synthesizeAndValidateEnvironment('dev')).toThrow(
      'The synth wrote no validation-report.json: the CloudFormation validation did not run (is CDK_VALIDATION=false set?). Unset CDK_VALIDATION to run the tests of its findings.',
    );
  });
});
