import { Topics, type TopicSerdes } from '@ecosystem/avro';
import type { Logger } from '@ecosystem/platform';
import { followTopics, type KafkaClients, type TopicReader } from 'kstreams';
import type { OrderFlow } from './flow.ts';

/**
 * Reads orders.v1 and order-validations.v1 from their end into the flow, by offset and without
 * a consumer group: a dashboard shows what happens from now on, commits nothing, and several
 * dashboards each see every record.
 */
export class FlowFeed {
  private reader: TopicReader | undefined;

  constructor(private readonly options: { kafka: KafkaClients; serdes: TopicSerdes; flow: OrderFlow; logger: Logger; prefix: string; onChange: () => void }) {}

  /** True once the positions at the end of the topics are taken, so nothing newer is missed. */
  get isReading(): boolean {
    return this.reader !== undefined;
  }

  async start(): Promise<void> {
    const { kafka, serdes, flow, logger, prefix, onChange } = this.options;
    const orders = serdes[Topics.orders];
    const validations = serdes[Topics.orderValidations];
    const existing = new Set(await kafka.admin().listTopics());
    const missing = [orders.topic, validations.topic].filter((topic) => !existing.has(topic));
    if (missing.length > 0) throw new Error(`the topics ${missing.join(', ')} do not exist: \`npm start\` creates them (check TOPIC_PREFIX)`);
    this.reader = await followTopics(kafka, [orders.topic, validations.topic], { from: 'end', name: `${prefix}dashboard-${process.pid}`, logger }, async (topic, _partition, records) => {
      for (const record of records) {
        if (!record.value) continue;
        try {
          if (topic === orders.topic) flow.addOrder(await orders.value.deserialize(record.value), record.timestamp);
          else flow.addValidation(await validations.value.deserialize(record.value));
          onChange();
        } catch (error) {
          // A record the dashboard cannot read is the pipeline's concern (its dead letters), not a reason to stop showing the rest.
          logger.debug({ topic, offset: record.offset, error: error instanceof Error ? error.message : String(error) }, 'skipped a record');
        }
      }
    });
  }

  async stop(): Promise<void> {
    await this.reader?.close();
  }
}
