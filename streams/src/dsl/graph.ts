import type { ProcessorSupplier } from '../processor.ts';
import type { KeyValueSerdes } from '../serde.ts';
import { Topology, type GlobalStoreDefinition, type StoreDefinition, type Subtopology, type TopicReference, type TopologyNode } from '../topology.ts';
import type { KGroupedStream, StreamSerdes } from './api.ts';

interface MutableNode {
  node: TopologyNode;
  order: number;
}

/** What a grouped stream needs of the stream it groups. */
export interface StreamNode<K, V> {
  readonly graph: TopologyGraph;
  readonly nodeName: string;
  readonly serdes: StreamSerdes<K, V> | undefined;
  /** Sends the stream through `<app>-<name>-repartition` when its key changed. */
  repartitionIfNeeded(name: string, serdes: StreamSerdes<K, V> | undefined): StreamNode<K, V>;
}

/** How a stream becomes a grouped stream: given by StreamsBuilder, so the stream's file need not import the grouped stream's. */
export type Grouping = <K, V>(stream: StreamNode<K, V>, serdes: StreamSerdes<K, V> | undefined, name: string | undefined) => KGroupedStream<K, V>;

/**
 * The graph the DSL builds, as in Kafka Streams' InternalTopologyBuilder: named nodes joined
 * by parent -> child edges, the stores processors use, and the global stores; `build()` cuts
 * it into sub-topologies.
 */
export class TopologyGraph {
  private readonly nodes = new Map<string, MutableNode>();
  private readonly stores = new Map<string, StoreDefinition>();
  private readonly globalStores: GlobalStoreDefinition[] = [];
  /** Stores that have a source node feeding them without a processor edge (source-topic tables). */
  private readonly storeOwners = new Map<string, string[]>();
  private counter = 0;

  constructor(readonly group: Grouping) {}


  nextName(prefix: string): string {
    this.counter += 1;
    return `${prefix}-${String(this.counter).padStart(10, '0')}`;
  }

  addNode(node: TopologyNode, parent?: string): void {
    if (this.nodes.has(node.name)) throw new Error(`the topology already has a node named ${node.name}`);
    this.nodes.set(node.name, { node, order: this.nodes.size });
    if (parent !== undefined) {
      const parentNode = this.nodes.get(parent)?.node;
      if (!parentNode) throw new Error(`no node named ${parent}`);
      if (parentNode.kind === 'sink') throw new Error(`a sink (${parent}) has no children`);
      parentNode.children.push(node.name);
    }
    if (node.kind === 'processor') for (const store of node.stores) this.connectStore(store, node.name);
  }

  addProcessor<KIn, VIn, KOut, VOut>(parent: string, name: string, supplier: ProcessorSupplier<KIn, VIn, KOut, VOut>, stores: string[] = []): string {
    this.addNode({ kind: 'processor', name, supplier: supplier as ProcessorSupplier<unknown, unknown, unknown, unknown>, stores, children: [] }, parent);
    return name;
  }

  addStore(definition: StoreDefinition): void {
    if (this.stores.has(definition.name)) throw new Error(`the topology already has a store named ${definition.name}`);
    this.stores.set(definition.name, definition);
  }

  /** Adds an edge to an existing node (merge points have two parents). */
  connect(parent: string, child: string): void {
    const parentNode = this.nodes.get(parent)?.node;
    if (!parentNode || parentNode.kind === 'sink') throw new Error(`cannot connect ${parent} to ${child}`);
    parentNode.children.push(child);
  }

  private connectStore(store: string, node: string): void {
    this.storeOwners.set(store, [...(this.storeOwners.get(store) ?? []), node]);
  }


  /** A stream from topics given by reference (internal repartition topics too): the source node's name. */
  addSource<K, V>(topics: TopicReference[], serdes: StreamSerdes<K, V>, name: string): string {
    this.addNode({ kind: 'source', name, topics, serdes: serdes as KeyValueSerdes<unknown, unknown>, children: [] });
    return name;
  }

  hasStore(name: string): boolean {
    return this.stores.has(name) || this.globalStores.some((global) => global.store.name === name);
  }

  addGlobalStore(definition: GlobalStoreDefinition): void {
    if (this.hasStore(definition.store.name)) throw new Error(`the topology already has a store named ${definition.store.name}`);
    this.globalStores.push(definition);
  }

  build(): Topology {
    const nodes = new Map<string, TopologyNode>([...this.nodes.entries()].map(([name, { node }]) => [name, node]));
    for (const [store, users] of this.storeOwners) {
      if (!this.stores.has(store) && !this.globalStores.some((global) => global.store.name === store)) {
        throw new Error(`processor ${users[0]} uses the store ${store}, which was never added (addStateStore)`);
      }
    }
    return new Topology(nodes, new Map(this.stores), [...this.globalStores], this.subtopologies());
  }

  /** Connected components of the graph, joined also through shared (non-global) stores. */
  private subtopologies(): Subtopology[] {
    const parent = new Map<string, string>();
    const find = (name: string): string => {
      let root = name;
      while (parent.get(root) !== root) root = parent.get(root)!;
      parent.set(name, root);
      return root;
    };
    const union = (left: string, right: string) => {
      const a = find(left);
      const b = find(right);
      if (a !== b) parent.set(b, a);
    };
    for (const name of this.nodes.keys()) parent.set(name, name);
    for (const [name, { node }] of this.nodes) for (const child of node.children) union(name, child);
    for (const [store, users] of this.storeOwners) {
      if (!this.stores.has(store)) continue; // global stores are on every task
      for (const user of users.slice(1)) union(users[0]!, user);
    }
    const components = new Map<string, string[]>();
    const ordered = [...this.nodes.entries()].sort(([, left], [, right]) => left.order - right.order);
    for (const [name] of ordered) {
      const root = find(name);
      components.set(root, [...(components.get(root) ?? []), name]);
    }
    return [...components.values()].map((members, id) => {
      const sources: TopicReference[] = [];
      const stores = new Set<string>();
      const readers = new Map<string, string>();
      for (const member of members) {
        const node = this.nodes.get(member)!.node;
        if (node.kind === 'source') {
          for (const topic of node.topics) {
            // A task hands each record of a topic to one source node: a second one would starve.
            const shown = 'external' in topic ? topic.external : topic.internal;
            const other = readers.get(shown);
            if (other !== undefined) throw new Error(`sources ${other} and ${node.name} both read ${shown} in one sub-topology: read the topic once and reuse the stream`);
            readers.set(shown, node.name);
            sources.push(topic);
          }
        }
        if (node.kind === 'processor') for (const store of node.stores) if (this.stores.has(store)) stores.add(store);
      }
      return { id, sources, nodes: members, stores: [...stores] };
    });
  }
}
