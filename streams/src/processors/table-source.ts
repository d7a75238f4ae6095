import { ContextualProcessor } from '../processor.ts';
import type { StreamRecord } from '../record.ts';
import type { KeyValueStore } from '../stores/key-value-store.ts';

/**
 * Materializes a topic as a table: the latest value per key, a null value deleting the key,
 * and forwards each update (so `table.toStream()` sees the changes).
 */
export class TableSourceProcessor<K, V> extends ContextualProcessor<K, V | null, K, V | null> {
  private store!: KeyValueStore<K, V>;

  constructor(private readonly storeName: string) {
    super();
  }

  override init(context: Parameters<ContextualProcessor<K, V | null, K, V | null>['init']>[0]): void {
    super.init(context);
    this.store = context.getStateStore(this.storeName);
  }

  async process(record: StreamRecord<K, V | null>): Promise<void> {
    if (record.key === null || record.key === undefined) return;
    if (record.value === null || record.value === undefined) this.store.delete(record.key);
    else this.store.put(record.key, record.value);
    await this.context.forward(record);
  }
}
