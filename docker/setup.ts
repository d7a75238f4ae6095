/**
 * The one-shot `setup` container of docker-compose.yml: creates the topics of the system and
 * registers the Avro schema of each topic's values, then exits. `scripts/start.ts --infra-only`
 * does the same after starting local servers, which the compose stack runs as containers.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { registerTopicSchemas } from '@ecosystem/avro';
import { connectKafka, createLogger, createSchemaRegistryClient, ensureTopics, loadInfrastructureConfig, systemTopics } from '@ecosystem/platform';

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('expected a positive integer');
  return number;
}

const options = new Command()
  .name('setup')
  .description(
    "Creates the missing topics of the system (platform/src/topics.ts) and registers the Avro schema of each topic's values, " +
      'on the Kafka cluster and schema registry named by KAFKA_BROKERS and SCHEMA_REGISTRY_URL, with TOPIC_PREFIX in front of ' +
      'every name. Existing topics and schemas are left alone, so it can run again.',
  )
  .addOption(new Option('--replication-factor <n>', 'replication factor of the topics it creates').default(1).argParser(positiveInteger))
  .parse()
  .opts<{ replicationFactor: number }>();

async function main(): Promise<void> {
  const config = loadInfrastructureConfig();
  const logger = createLogger('setup', 'warn');
  const kafka = await connectKafka({ clientId: 'setup', config, logger });
  try {
    const created = await ensureTopics(kafka, systemTopics, { logger, prefix: config.TOPIC_PREFIX, replicationFactor: options.replicationFactor });
    console.log(`Topics on ${config.KAFKA_BROKERS.join(',')}: ${systemTopics.length} declared, ${created.length} created now${created.length > 0 ? ` (${created.join(', ')})` : ''}.`);
  } finally {
    await kafka.close();
  }
  const subjects = await registerTopicSchemas(createSchemaRegistryClient(config), { prefix: config.TOPIC_PREFIX });
  console.log(`Schemas on ${config.SCHEMA_REGISTRY_URL}: ${Object.entries(subjects).map(([subject, id]) => `${subject}=${id}`).join(', ')}`);
}

main().catch((error: unknown) => {
  console.error(`setup: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
