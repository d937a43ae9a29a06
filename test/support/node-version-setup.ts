/**
 * Jest setup file (jest.config.js `setupFiles`): on a Node.js older than the baseline, the AWS
 * SDK's eight-line Node.js version warning is turned off, as the commands turn it off (cli/support.ts).
 * Tests build SDK clients (mocked ones too), and each worker would print it. Other warnings stay.
 */
import { isBelowBaseline, silenceSdkNodeVersionWarning } from '../../src/aws/node-version';

if (isBelowBaseline(process.version)) silenceSdkNodeVersionWarning(process.env);
