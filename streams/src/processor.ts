import type { StreamRecord } from './record.ts';
import type { StateStore } from './stores/state-store.ts';

/**
 * What a scheduled punctuation follows: the task's stream time (the largest record timestamp
 * it has seen, so it moves only with data, replays included) or the wall clock.
 */
export type PunctuationType = 'stream-time' | 'wall-clock';

/** A scheduled punctuation, which `cancel` stops. */
export interface Cancellable {
  cancel(): void;
}

/**
 * The processor API: the DSL is built from these, and services use them directly for logic
 * the DSL does not express. Processing is asynchronous because state stores live in
 * LevelDB and sinks may serialize through the schema registry; a task still handles one
 * record at a time, in order.
 */
export interface ProcessorContext<KOut, VOut> {
  readonly applicationId: string;
  readonly taskId: string;
  readonly partition: number;
  /** The source topic, partition and offset of the record being processed. */
  readonly source: { topic: string; partition: number; offset: string } | undefined;
  /** The largest record timestamp this task has seen: the clock of its windows. */
  readonly streamTime: number;
  /**
   * Whether the task has processed every record of its inputs, as of their last fetch: its
   * stream time is then as late as its inputs go (a punctuation that times work out checks
   * this, so that a backlog being worked through after a restart does not count as overdue).
   */
  readonly inputsCaughtUp: boolean;
  /** The wall clock wall-clock punctuations follow (the test driver's own in tests). */
  currentSystemTimeMs(): number;
  forward(record: StreamRecord<KOut, VOut>): Promise<void>;
  getStateStore<S extends StateStore>(name: string): S;
  /**
   * Calls `punctuator` every `intervalMs` of stream time or wall-clock time (Kafka Streams'
   * `schedule`). It runs between records, with the processor's stores and `forward`, and its
   * changes and outputs are committed like a record's.
   */
  schedule(intervalMs: number, type: PunctuationType, punctuator: (timestamp: number) => void | Promise<void>): Cancellable;
}

export interface Processor<KIn, VIn, KOut = KIn, VOut = VIn> {
  init?(context: ProcessorContext<KOut, VOut>): void | Promise<void>;
  process(record: StreamRecord<KIn, VIn>): void | Promise<void>;
  close?(): void | Promise<void>;
}

export type ProcessorSupplier<KIn, VIn, KOut = KIn, VOut = VIn> = () => Processor<KIn, VIn, KOut, VOut>;

/** A processor holding its context, for the common case of processors written as classes. */
export abstract class ContextualProcessor<KIn, VIn, KOut = KIn, VOut = VIn> implements Processor<KIn, VIn, KOut, VOut> {
  private currentContext: ProcessorContext<KOut, VOut> | undefined;

  init(context: ProcessorContext<KOut, VOut>): void {
    this.currentContext = context;
  }

  protected get context(): ProcessorContext<KOut, VOut> {
    if (!this.currentContext) throw new Error(`${this.constructor.name} used before init()`);
    return this.currentContext;
  }

  abstract process(record: StreamRecord<KIn, VIn>): void | Promise<void>;
}
