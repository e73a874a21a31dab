import { Connection } from '@temporalio/client';
import { configOrExit } from './processes.js';
import { registerSearchAttributes } from '../platform/temporal/register-search-attributes.js';
import { searchAttributes } from '../platform/temporal/search-attributes.js';

/**
 * `npm run temporal:setup`: registers ticketflow's search attributes on the cluster at TEMPORAL_ADDRESS
 * (namespace TEMPORAL_NAMESPACE). Safe to run again; needs operator rights on the cluster.
 */
const say = (msg: string) => process.stderr.write(`[ticketflow] ${msg}\n`);
const config = configOrExit();
if (!config.TEMPORAL_ADDRESS) {
  say('set TEMPORAL_ADDRESS (host:port of the cluster); `npm start` registers them on its own dev server');
  process.exit(2);
}
say(`registering ${searchAttributes.map((a) => a.name).join(', ')} on ${config.TEMPORAL_ADDRESS}, namespace ${config.TEMPORAL_NAMESPACE}`);
const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
try {
  await registerSearchAttributes(connection, config.TEMPORAL_NAMESPACE);
  say('done: workflows can set them now');
} catch (err) {
  say(`failed: ${(err as Error).message}`);
  say(`what to do: ask an operator to run, for each: temporal operator search-attribute create --namespace ${config.TEMPORAL_NAMESPACE} --name <name> --type Keyword`);
  process.exitCode = 1;
} finally {
  await connection.close();
}
