import { longSerde, StreamsBuilder, stringSerde, type Topology } from 'kstreams';

/** The store the counts live in, for interactive queries. */
export const countStore = 'word-counts';

/**
 * Lines of text in, one record per word out: the word and how often it was seen so far.
 * The words become the key (groupBy), so the runtime repartitions them through an internal
 * topic before counting: every occurrence of a word reaches the same task and store.
 */
export function wordCountTopology(input: string, output: string): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream(input, { key: stringSerde, value: stringSerde })
    .flatMapValues((line) => line.toLowerCase().split(/\W+/).filter((word) => word.length > 0))
    .groupBy((_key, word) => word, { name: 'by-word', serdes: { key: stringSerde, value: stringSerde } })
    .count({ storeName: countStore })
    .toStream()
    .to(output, { key: stringSerde, value: longSerde });
  return builder.build();
}
