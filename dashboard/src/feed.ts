import { randomUUID } from 'node:crypto';
import { Topics, type TopicSerdes } from '@ecosystem/avro';
import type { Logger } from '@ecosystem/platform';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { OrderFlow } from './flow.ts';

/**
 * Reads orders.v1 and order-validations.v1 from their end into the flow. The consumer group
 * is this process's own and never commits: a dashboard shows what happens from now on, and
 * several dashboards each see every record.
 */
export class FlowFeed {
  private readonly consumer: Consumer;
  private fetched = false;

  constructor(
    private readonly options: { kafka: Kafka; admin: Admin; serdes: TopicSerdes; flow: OrderFlow; logger: Logger; prefix: string; onChange: () => void },
  ) {
    this.consumer = options.kafka.consumer({ groupId: `${options.prefix}dashboard-${randomUUID()}`, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  }

  /** True once the first fetch has returned: the positions at the end of the topics are taken, so nothing newer is missed. */
  get isReading(): boolean {
    return this.fetched;
  }

  async start(): Promise<void> {
    const { serdes, flow, logger, onChange } = this.options;
    const orders = serdes[Topics.orders];
    const validations = serdes[Topics.orderValidations];
    const existing = new Set(await this.options.admin.listTopics());
    const missing = [orders.topic, validations.topic].filter((topic) => !existing.has(topic));
    if (missing.length > 0) throw new Error(`the topics ${missing.join(', ')} do not exist: \`npm start\` creates them (check TOPIC_PREFIX)`);
    this.consumer.on(this.consumer.events.FETCH, () => (this.fetched = true));
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [orders.topic, validations.topic], fromBeginning: false });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, message }) => {
        if (!message.value) return;
        try {
          if (topic === orders.topic) flow.addOrder(await orders.value.deserialize(message.value), Number(message.timestamp));
          else flow.addValidation(await validations.value.deserialize(message.value));
          onChange();
        } catch (error) {
          // A record the dashboard cannot read is the pipeline's concern (its dead letters), not a reason to stop showing the rest.
          logger.debug({ topic, offset: message.offset, error: error instanceof Error ? error.message : String(error) }, 'skipped a record');
        }
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
