import type { ProcessorSupplier } from './processor.ts';
import type { KeyValueSerdes, Serde, SyncSerde } from './serde.ts';

/**
 * The built graph: what the DSL produces and what tasks execute. Nodes are connected by
 * parent -> child edges; a sink writing to a repartition topic and the source reading it
 * are not connected, which is what splits the graph into sub-topologies. Each
 * sub-topology runs as one task per input partition.
 *
 * Internal topics (repartition, changelog) are named `<application id>-<suffix>`, so a
 * topology refers to them by suffix until it is `resolve`d for an application, once.
 */
export type TopicReference = { external: string } | { internal: string };

export type TopicChooser = (key: unknown, value: unknown) => string;

export interface SourceNode<Topic = TopicReference> {
  kind: 'source';
  name: string;
  topics: Topic[];
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

export interface SinkNode<Topic = TopicReference> {
  kind: 'sink';
  name: string;
  topic: Topic | TopicChooser;
  serdes: KeyValueSerdes<unknown, unknown>;
  children: [];
}

export type TopologyNode<Topic = TopicReference> = SourceNode<Topic> | ProcessorNode | SinkNode<Topic>;

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
  /** Windowed stores: how long an entry is kept after its window ends. Key-value stores: after the timestamp of the record that last wrote it. */
  retentionMs?: number;
}

/** A store as it runs: with the name of the topic it is restored from. */
export interface ResolvedStore extends StoreDefinition {
  changelogTopic: string;
}

export interface GlobalStoreDefinition {
  store: StoreDefinition;
  topic: string;
  serdes: KeyValueSerdes<unknown, unknown>;
}

export interface Subtopology<Topic = TopicReference> {
  id: number;
  sources: Topic[];
  nodes: string[];
  stores: string[];
}

export class Topology {
  constructor(
    readonly nodes: ReadonlyMap<string, TopologyNode>,
    readonly stores: ReadonlyMap<string, StoreDefinition>,
    readonly globalStores: readonly GlobalStoreDefinition[],
    readonly subtopologies: readonly Subtopology[],
  ) {}

  /** The topology of one application: every internal topic named `<applicationId>-<suffix>`. */
  resolve(applicationId: string): ResolvedTopology {
    const name = (reference: TopicReference) => ('external' in reference ? reference.external : `${applicationId}-${reference.internal}`);
    const nodes = new Map<string, TopologyNode<string>>();
    for (const [nodeName, node] of this.nodes) {
      if (node.kind === 'source') nodes.set(nodeName, { ...node, topics: node.topics.map(name) });
      else if (node.kind === 'sink') nodes.set(nodeName, { ...node, topic: typeof node.topic === 'function' ? node.topic : name(node.topic) });
      else nodes.set(nodeName, node);
    }
    const stores = new Map<string, ResolvedStore>();
    for (const [storeName, store] of this.stores) {
      stores.set(storeName, { ...store, changelogTopic: store.changelog.kind === 'source-topic' ? store.changelog.topic : `${applicationId}-${store.name}-changelog` });
    }
    const internalTopics: InternalTopic[] = [];
    const subtopologies = this.subtopologies.map((subtopology) => {
      for (const source of subtopology.sources) if ('internal' in source) internalTopics.push({ name: name(source), kind: 'repartition', subtopology: subtopology.id });
      for (const store of subtopology.stores) {
        if (this.stores.get(store)!.changelog.kind === 'internal') internalTopics.push({ name: stores.get(store)!.changelogTopic, kind: 'changelog', subtopology: subtopology.id });
      }
      return { ...subtopology, sources: subtopology.sources.map(name) };
    });
    return new ResolvedTopology(applicationId, nodes, stores, this.globalStores, subtopologies, internalTopics);
  }

  /** A readable outline of the sub-topologies, like Kafka Streams' TopologyDescription. */
  describe(): string {
    return describeTopology(this.nodes, this.subtopologies, this.globalStores, (reference) => ('external' in reference ? reference.external : `<app>-${reference.internal}`));
  }
}

/** A topic the runtime creates for an application, sized like the inputs of its sub-topology. */
export interface InternalTopic {
  name: string;
  kind: 'repartition' | 'changelog';
  subtopology: number;
}

/** A topology with concrete topic names: what tasks run. */
export class ResolvedTopology {
  constructor(
    readonly applicationId: string,
    readonly nodes: ReadonlyMap<string, TopologyNode<string>>,
    readonly stores: ReadonlyMap<string, ResolvedStore>,
    readonly globalStores: readonly GlobalStoreDefinition[],
    readonly subtopologies: readonly Subtopology<string>[],
    readonly internalTopics: readonly InternalTopic[],
  ) {}

  node(name: string): TopologyNode<string> {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`no node named ${name}`);
    return node;
  }

  store(name: string): ResolvedStore {
    const store = this.stores.get(name);
    if (!store) throw new Error(`no store named ${name}`);
    return store;
  }

  /** Whether the sub-topology writes to a repartition topic (its records get new keys, whose tasks it feeds). */
  rekeys(subtopology: Subtopology<string>): boolean {
    const repartitionTopics = new Set(this.internalTopics.filter((topic) => topic.kind === 'repartition').map((topic) => topic.name));
    return subtopology.nodes.some((name) => {
      const node = this.node(name);
      return node.kind === 'sink' && typeof node.topic === 'string' && repartitionTopics.has(node.topic);
    });
  }

  /** Every topic read by a task: the source topics of all sub-topologies. */
  get sourceTopics(): string[] {
    return [...new Set(this.subtopologies.flatMap((subtopology) => subtopology.sources))];
  }

  /** Topics the application reads but does not create. */
  get externalTopics(): string[] {
    const internal = new Set(this.internalTopics.map((topic) => topic.name));
    return [...new Set([...this.sourceTopics.filter((topic) => !internal.has(topic)), ...this.globalStores.map((global) => global.topic)])];
  }
}

function describeTopology<Topic>(nodes: ReadonlyMap<string, TopologyNode<Topic>>, subtopologies: readonly Subtopology<Topic>[], globalStores: readonly GlobalStoreDefinition[], show: (topic: Topic) => string): string {
  const lines: string[] = [];
  for (const subtopology of subtopologies) {
    lines.push(`Sub-topology ${subtopology.id}: ${subtopology.sources.map(show).join(', ')}`);
    for (const name of subtopology.nodes) {
      const node = nodes.get(name)!;
      const target = node.kind === 'sink' ? ` -> ${typeof node.topic === 'function' ? '(topic per record)' : show(node.topic)}` : '';
      const stores = node.kind === 'processor' && node.stores.length > 0 ? ` [stores: ${node.stores.join(', ')}]` : '';
      lines.push(`  ${node.kind} ${name}${stores}${target}${node.children.length ? ` --> ${node.children.join(', ')}` : ''}`);
    }
  }
  for (const global of globalStores) lines.push(`Global store ${global.store.name} <- ${global.topic}`);
  return lines.join('\n');
}

export type { Serde };
