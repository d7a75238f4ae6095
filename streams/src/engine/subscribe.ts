import type { Consumer } from 'kafkajs';

/**
 * Subscribes, retrying while a broker does not know a topic yet. On a cluster a topic just
 * created is known to the controller and some brokers before the others, and kafkajs'
 * subscribe does not retry the metadata request that meets such a broker.
 */
export async function subscribeWhenKnown(consumer: Consumer, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 1_000)) {
    try {
      await consumer.subscribe({ topics, fromBeginning: true });
      return;
    } catch (error) {
      const retriable = typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable === true;
      if (!retriable || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
