/**
 * Test entry point: runs the host service with the FAKE runtime (the test double) on a data
 * directory, as its own process, so tests can kill and restart it. Prints one JSON line
 * {"addresses": [...]} when serving. Usage: node serve-fake.js DATA_DIR [LISTEN...]
 * VIRIDIAN_TEST_RUNTIME=machine selects the real VM engine instead (tests that boot guests).
 */
import { parseListenAddress } from '../../../src/host/listen-address.js';
import { HostService } from '../../../src/host/service.js';
import { isRuntimeName } from '../../../src/host/workers/runtimes/select-runtime.js';

const [dataDir, ...listen] = process.argv.slice(2);
if (dataDir === undefined) throw new Error('usage: serve-fake DATA_DIR [LISTEN...]');
const runtime = process.env['VIRIDIAN_TEST_RUNTIME'] ?? 'fake';
if (!isRuntimeName(runtime)) throw new Error(`VIRIDIAN_TEST_RUNTIME: unknown runtime '${runtime}'`);
const service = await HostService.start({
  dataDir,
  listen: listen.map(parseListenAddress),
  runtime,
  log: (line) => process.stderr.write(`service: ${line}\n`),
});
process.stdout.write(JSON.stringify({ addresses: service.addresses, recovery: service.recovery }) + '\n');
const stop = (): void => {
  void service.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
