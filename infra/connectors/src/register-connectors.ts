import { Command, Option } from 'commander';
import { elasticsearchConfig, loadConfig } from '@ecosystem/platform';
import { connectorFiles, customersSourceConfigProblems, ordersSinkConfigProblems, readConnectorDefinition } from './connect-configs.ts';
import { ConnectError, registerConnector } from './connect-rest.ts';
import { createElasticsearchClient, ensureIndex } from './elasticsearch.ts';
import { ordersSinkJob } from './jobs.ts';
import { describeError } from 'kstreams';

interface Options {
  connectUrl: string;
  elasticsearchUrl: string;
  index: boolean;
  timeout: number;
}

const program = new Command()
  .name('register-connectors')
  .description(
    'Registers (or updates) the two Kafka Connect jobs of infra/connectors/ through the Connect REST API:\n' +
      'the JDBC source (SQLite customers -> customers topic) and the Elasticsearch sink (orders.v1 -> index orders.v1).\n' +
      'The configs are first checked against src/jobs.ts; the index is created with its explicit mapping before\n' +
      'the sink starts (the sink is told to ignore the Avro schema). Waits until every connector is RUNNING.',
  )
  .option('--connect-url <url>', 'Kafka Connect REST API', 'http://localhost:8083')
  .option('--elasticsearch-url <url>', 'Elasticsearch, to create the orders index', process.env['ELASTICSEARCH_URL'] ?? 'http://localhost:9200')
  .option('--no-index', 'do not create the orders index (it exists already, or Connect may create it with a dynamic mapping)')
  .addOption(new Option('--timeout <ms>', 'how long to wait for each connector to be RUNNING').default(60_000).argParser((value) => {
    const ms = Number(value);
    if (!Number.isInteger(ms) || ms <= 0) throw new Error(`--timeout must be a positive number of milliseconds, got ${value}`);
    return ms;
  }))
  .action(async (options: Options) => {
    const connectors = [
      { definition: readConnectorDefinition(connectorFiles.customersSource), problems: customersSourceConfigProblems },
      { definition: readConnectorDefinition(connectorFiles.ordersSink), problems: ordersSinkConfigProblems },
    ];
    const problems = connectors.flatMap(({ definition, problems: check }) => check(definition).map((problem) => `${definition.name}: ${problem}`));
    if (problems.length > 0) throw new ConnectError(`the connector configs disagree with src/jobs.ts:\n  - ${problems.join('\n  - ')}`);
    if (options.index) {
      // The URL may come from the option; the user, password or API key and the CA come from the environment.
      const client = createElasticsearchClient({ ...loadConfig(elasticsearchConfig), ELASTICSEARCH_URL: options.elasticsearchUrl });
      try {
        const created = await ensureIndex(client, ordersSinkJob.index, ordersSinkJob.mapping);
        console.log(created ? `created index ${ordersSinkJob.index} with its explicit mapping` : `index ${ordersSinkJob.index} exists`);
      } catch (error) {
        throw new ConnectError(`cannot create index ${ordersSinkJob.index} at ${options.elasticsearchUrl}: ${describeError(error)} (use --no-index to skip)`);
      } finally {
        await client.close();
      }
    }
    for (const { definition } of connectors) {
      await registerConnector(options.connectUrl, definition, { timeoutMs: options.timeout, onProgress: (line) => console.log(line) });
    }
  });

try {
  await program.parseAsync();
} catch (error) {
  console.error(`register-connectors: ${describeError(error)}`);
  process.exitCode = 1;
}
