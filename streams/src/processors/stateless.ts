import type { Processor, ProcessorContext, ProcessorSupplier } from '../processor.ts';
import type { StreamRecord } from '../record.ts';

/**
 * The stateless operators as one processor shape: a function from a record to zero or more
 * records. Filter, map, selectKey, flatMap and peek are all this.
 */
export function recordMapper<KIn, VIn, KOut, VOut>(
  transform: (record: StreamRecord<KIn, VIn>) => Iterable<StreamRecord<KOut, VOut>> | Promise<Iterable<StreamRecord<KOut, VOut>>>,
): ProcessorSupplier<KIn, VIn, KOut, VOut> {
  return () => {
    let context: ProcessorContext<KOut, VOut>;
    const processor: Processor<KIn, VIn, KOut, VOut> = {
      init(given) {
        context = given;
      },
      async process(record) {
        for (const output of await transform(record)) await context.forward(output);
      },
    };
    return processor;
  };
}

/** Forwards every record unchanged (merge points, toStream). */
export function passThrough<K, V>(): ProcessorSupplier<K, V, K, V> {
  return recordMapper((record) => [record]);
}
