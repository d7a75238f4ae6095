/** A record as processors see it: typed key and value, event time, headers. */
export interface StreamRecord<K, V> {
  key: K;
  value: V;
  /** Event time in epoch milliseconds (the Kafka record timestamp for source records). */
  timestamp: number;
  headers: RecordHeaders;
}

export type RecordHeaders = Record<string, string | Buffer>;

/** A record as it travels on Kafka: bytes, with where it came from. */
export interface RawRecord {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: RecordHeaders;
  offset: string;
}

/** A record on its way out, already serialized. */
export interface OutgoingRecord {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: RecordHeaders;
  /** Set for changelog records (the task's own partition); otherwise the murmur2 partitioner decides. */
  partition?: number;
}

/** Headers as the Kafka client sends them: bytes for names and values. */
export function encodeHeaders(headers: RecordHeaders): Map<Buffer, Buffer> {
  return new Map(Object.entries(headers).map(([name, value]) => [Buffer.from(name), typeof value === 'string' ? Buffer.from(value) : value]));
}
