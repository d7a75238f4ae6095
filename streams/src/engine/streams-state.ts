/** The states of a KafkaStreams instance, as Kafka Streams names them. */
export type StreamsState = 'created' | 'starting' | 'rebalancing' | 'running' | 'pending-shutdown' | 'not-running' | 'error';
