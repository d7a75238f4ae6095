import type { ProcessorSupplier } from './processor.ts';
import type { KeyValueSerdes, Serde, SyncSerde } from './serde.ts';

/**
 * The built graph: what the DSL produces and what tasks execute. Nodes are connected by
 * parent -> child edges; a sink writing to a repartition topic and the source reading it
 * are not connected, which is what splits the graph into sub-topologies. Each
 * sub-topology runs as one task per input partition.
 */
export interface SourceNode {
  kind: 'source';
  name: string;
  topics: string[];
  serdes: KeyValueSerdes<unknown, unknown>;
  children: string[];
}

export interface ProcessorNode {
  kind: 'processor';
  name: string;
  supplier: ProcessorSupplier<unknown, unknown, unknown, unknown>;
  stores: string[];
  children: string[];
}

export type TopicChooser = (key: unknown, value: unknown) => string;

export interface SinkNode {
  kind: 'sink';
  name: string;
  topic: string | TopicChooser;
  serdes: KeyValueSerdes<unknown, unknown>;
  children: [];
}

export type TopologyNode = SourceNode | ProcessorNode | SinkNode;

export type StoreKind = 'key-value' | 'window' | 'session' | 'join-buffer';

export interface StoreDefinition {
  name: string;
  kind: StoreKind;
  keySerde: SyncSerde<unknown>;
  valueSerde: SyncSerde<unknown>;
  /**
   * Where the store's changes are kept durably: its own compacted changelog topic, or, for a
   * table read from a topic, that source topic (nothing is written; restoring replays it).
   */
  changelog: { kind: 'internal' } | { kind: 'source-topic'; topic: string };
  /** For windowed stores: how long an entry is kept after its window ends. */
  retentionMs?: number;
}

export interface GlobalStoreDefinition {
  store: StoreDefinition;
  topic: string;
  serdes: KeyValueSerdes<unknown, unknown>;
}

/** Internal topics are named `<application id>-<suffix>` when the application runs. */
export interface InternalTopic {
  suffix: string;
  kind: 'repartition' | 'changelog';
}

export interface Subtopology {
  id: number;
  /** Source topics; internal ones are given as `{ internal: suffix }`. */
  sources: TopicReference[];
  nodes: string[];
  stores: string[];
}

export type TopicReference = { external: string } | { internal: string };

export class Topology {
  constructor(
    readonly nodes: ReadonlyMap<string, TopologyNode>,
    readonly stores: ReadonlyMap<string, StoreDefinition>,
    readonly globalStores: readonly GlobalStoreDefinition[],
    readonly subtopologies: readonly Subtopology[],
    readonly internalTopics: readonly InternalTopic[],
  ) {}

  node(name: string): TopologyNode {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`no node named ${name}`);
    return node;
  }

  /** A readable outline of the sub-topologies, like Kafka Streams' TopologyDescription. */
  describe(): string {
    const lines: string[] = [];
    for (const subtopology of this.subtopologies) {
      lines.push(`Sub-topology ${subtopology.id}: ${subtopology.sources.map(describeTopic).join(', ')}`);
      for (const name of subtopology.nodes) {
        const node = this.node(name);
        const target = node.kind === 'sink' ? ` -> ${typeof node.topic === 'string' ? describeSinkTopic(node.topic) : '(topic per record)'}` : '';
        const stores = node.kind === 'processor' && node.stores.length > 0 ? ` [stores: ${node.stores.join(', ')}]` : '';
        lines.push(`  ${node.kind} ${name}${stores}${target}${node.children.length ? ` --> ${node.children.join(', ')}` : ''}`);
      }
    }
    for (const global of this.globalStores) lines.push(`Global store ${global.store.name} <- ${global.topic}`);
    return lines.join('\n');
  }
}

function describeSinkTopic(topic: string): string {
  return topic.startsWith(internalPrefix) ? `<app>-${topic.slice(internalPrefix.length)}` : topic;
}

function describeTopic(reference: TopicReference): string {
  return 'external' in reference ? reference.external : `<app>-${reference.internal}`;
}

export function resolveTopic(reference: TopicReference, applicationId: string): string {
  return 'external' in reference ? reference.external : `${applicationId}-${reference.internal}`;
}

export function changelogTopic(applicationId: string, store: StoreDefinition): string {
  return store.changelog.kind === 'source-topic' ? store.changelog.topic : `${applicationId}-${store.name}-changelog`;
}

/** The serdes of a sink writing to an internal (repartition) topic are resolved at run time. */
export function sinkTopic(node: SinkNode, key: unknown, value: unknown, applicationId: string): string {
  const topic = typeof node.topic === 'string' ? node.topic : node.topic(key, value);
  return topic.startsWith(internalPrefix) ? `${applicationId}-${topic.slice(internalPrefix.length)}` : topic;
}

/** Sinks to internal topics name them with this prefix until the application id is known. */
export const internalPrefix = '\u0000internal:';

export type { Serde };
