import { StreamsBuilder, stringSerde, type Topology } from '../../src/index.ts';

/** Counts as decimal text: readable in a console consumer. */
export const numberSerde = { serialize: (value: number) => Buffer.from(String(value)), deserialize: (bytes: Buffer) => Number(bytes.toString()) };

/** The runtime's smallest stateful application: counts records per key into `output`, from the store 'counts'. */
export function countingTopology(input: string, output: string): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream(input, { key: stringSerde, value: stringSerde })
    .groupByKey()
    .count({ storeName: 'counts' })
    .toStream()
    .to(output, { key: stringSerde, value: numberSerde });
  return builder.build();
}
