export { up, down, reset, status, fetchServers, allServers, type InfraOptions, type ServerStatus, type ServerName } from './launcher.ts';
export { InfraError } from './errors.ts';
export { parseResidentBytes, parseStat, type ProcessStat } from './processes.ts';
export { findJava } from './java.ts';
export { localPaths, repositoryRoot } from './paths.ts';
export { kafkaVersion } from './servers/kafka.ts';
export { registryVersion } from './servers/registry.ts';
export { elasticsearchVersion } from './servers/elasticsearch.ts';
export { freeLoopbackPort, KafkaCluster, type KafkaClusterOptions } from './kafka-cluster.ts';
