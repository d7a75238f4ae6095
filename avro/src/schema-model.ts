/**
 * A parsed, name-resolved view of a set of .avsc files. Named types may live in separate files and
 * refer to each other by name; the model keeps one definition per full name so that the JSON writer
 * and the TypeScript generator can both walk it.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export const primitiveTypeNames = ['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string'] as const;
export type PrimitiveTypeName = (typeof primitiveTypeNames)[number];

/** Attributes the Avro spec does not define (logicalType, connect.name, ...), kept so they reach the registry. */
export type ExtraProps = Record<string, JsonValue>;

export type TypeModel =
  | { kind: 'primitive'; primitive: PrimitiveTypeName; props: ExtraProps }
  | { kind: 'reference'; fullName: string }
  | { kind: 'array'; items: TypeModel; props: ExtraProps }
  | { kind: 'map'; values: TypeModel; props: ExtraProps }
  | { kind: 'union'; branches: TypeModel[] };

export interface FieldModel {
  name: string;
  type: TypeModel;
  doc: string | undefined;
  /** undefined when the field has no default; a JSON null default is `null`. */
  defaultValue: JsonValue | undefined;
  order: string | undefined;
  aliases: string[] | undefined;
  props: ExtraProps;
}

interface NamedTypeBase {
  fullName: string;
  name: string;
  namespace: string | undefined;
  doc: string | undefined;
  aliases: string[] | undefined;
  props: ExtraProps;
  /** The .avsc file that defines the type, for error messages. */
  source: string;
}

export type RecordModel = NamedTypeBase & { kind: 'record'; fields: FieldModel[] };
export type EnumModel = NamedTypeBase & { kind: 'enum'; symbols: string[]; defaultSymbol: string | undefined };
export type FixedModel = NamedTypeBase & { kind: 'fixed'; size: number };
export type NamedTypeModel = RecordModel | EnumModel | FixedModel;

export interface SchemaModel {
  /** Named types by full name, in the order their files were given. */
  namedTypes: ReadonlyMap<string, NamedTypeModel>;
  /** The full name of the type each file defines at its top level, in file order. */
  topLevel: readonly string[];
}

export class SchemaModelError extends Error {
  override name = 'SchemaModelError';
}

export interface SchemaSource {
  /** A label (usually the file path) used in error messages. */
  source: string;
  json: JsonValue;
}

export function buildSchemaModel(sources: readonly SchemaSource[]): SchemaModel {
  const namedTypes = new Map<string, NamedTypeModel>();
  const references: { fullName: string; source: string }[] = [];
  const topLevel: string[] = [];

  for (const { source, json } of sources) {
    const parser = new TypeParser(source, namedTypes, references);
    const top = parser.parse(json, undefined);
    if (top.kind !== 'reference') {
      throw new SchemaModelError(`${source}: the top level of an .avsc file must be a named type (record, enum, fixed)`);
    }
    topLevel.push(top.fullName);
  }
  for (const { fullName, source } of references) {
    if (!namedTypes.has(fullName)) throw new SchemaModelError(`${source}: unknown type "${fullName}"`);
  }
  return { namedTypes, topLevel };
}

const reservedAttributes: Record<string, readonly string[]> = {
  record: ['type', 'name', 'namespace', 'doc', 'aliases', 'fields'],
  enum: ['type', 'name', 'namespace', 'doc', 'aliases', 'symbols', 'default'],
  fixed: ['type', 'name', 'namespace', 'doc', 'aliases', 'size'],
  array: ['type', 'items'],
  map: ['type', 'values'],
  field: ['name', 'type', 'doc', 'default', 'order', 'aliases'],
  primitive: ['type'],
};

class TypeParser {
  constructor(
    private readonly source: string,
    private readonly namedTypes: Map<string, NamedTypeModel>,
    private readonly references: { fullName: string; source: string }[],
  ) {}

  parse(json: JsonValue, enclosingNamespace: string | undefined): TypeModel {
    if (typeof json === 'string') return this.parseName(json, enclosingNamespace);
    if (Array.isArray(json)) {
      return { kind: 'union', branches: json.map((branch) => this.parse(branch, enclosingNamespace)) };
    }
    if (json === null || typeof json !== 'object') this.fail(`not a schema: ${JSON.stringify(json)}`);
    const type = json['type'];
    switch (type) {
      case 'record':
      case 'error':
        return this.defineRecord(json, enclosingNamespace);
      case 'enum':
        return this.defineEnum(json, enclosingNamespace);
      case 'fixed':
        return this.defineFixed(json, enclosingNamespace);
      case 'array':
        return {
          kind: 'array',
          items: this.parse(this.required(json, 'items'), enclosingNamespace),
          props: extraProps(json, 'array'),
        };
      case 'map':
        return {
          kind: 'map',
          values: this.parse(this.required(json, 'values'), enclosingNamespace),
          props: extraProps(json, 'map'),
        };
      default:
        if (isPrimitiveTypeName(type)) return { kind: 'primitive', primitive: type, props: extraProps(json, 'primitive') };
        // {"type": "SomeName"} is a reference written in object form.
        if (typeof type === 'string') return this.parseName(type, enclosingNamespace);
        return this.fail(`unsupported type ${JSON.stringify(type)}`);
    }
  }

  private parseName(name: string, enclosingNamespace: string | undefined): TypeModel {
    if (isPrimitiveTypeName(name)) return { kind: 'primitive', primitive: name, props: {} };
    const fullName = qualify(name, enclosingNamespace);
    this.references.push({ fullName, source: this.source });
    return { kind: 'reference', fullName };
  }

  private defineRecord(json: JsonObject, enclosingNamespace: string | undefined): TypeModel {
    const base = this.namedBase(json, enclosingNamespace);
    const rawFields = this.required(json, 'fields');
    if (!Array.isArray(rawFields)) this.fail(`record ${base.fullName}: "fields" must be an array`);
    // Registered before the fields are parsed so a record may refer to itself.
    const record: RecordModel = { ...base, kind: 'record', fields: [] };
    this.register(record);
    for (const rawField of rawFields) {
      if (!isJsonObject(rawField)) this.fail(`record ${base.fullName}: a field must be an object`);
      record.fields.push({
        name: this.stringAttribute(rawField, 'name', `a field of ${base.fullName}`),
        type: this.parse(this.required(rawField, 'type'), base.namespace),
        doc: optionalString(rawField, 'doc'),
        defaultValue: rawField['default'],
        order: optionalString(rawField, 'order'),
        aliases: optionalStrings(rawField, 'aliases'),
        props: extraProps(rawField, 'field'),
      });
    }
    const names = record.fields.map((field) => field.name);
    const duplicate = names.find((name, index) => names.indexOf(name) !== index);
    if (duplicate !== undefined) this.fail(`record ${base.fullName}: duplicate field "${duplicate}"`);
    return { kind: 'reference', fullName: base.fullName };
  }

  private defineEnum(json: JsonObject, enclosingNamespace: string | undefined): TypeModel {
    const base = this.namedBase(json, enclosingNamespace);
    const symbols = optionalStrings(json, 'symbols');
    if (symbols === undefined || symbols.length === 0) this.fail(`enum ${base.fullName}: "symbols" must be a non-empty string array`);
    const defaultSymbol = optionalString(json, 'default');
    if (defaultSymbol !== undefined && !symbols.includes(defaultSymbol)) {
      this.fail(`enum ${base.fullName}: default "${defaultSymbol}" is not one of its symbols`);
    }
    this.register({ ...base, kind: 'enum', symbols, defaultSymbol });
    return { kind: 'reference', fullName: base.fullName };
  }

  private defineFixed(json: JsonObject, enclosingNamespace: string | undefined): TypeModel {
    const base = this.namedBase(json, enclosingNamespace);
    const size = json['size'];
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) this.fail(`fixed ${base.fullName}: bad size`);
    this.register({ ...base, kind: 'fixed', size });
    return { kind: 'reference', fullName: base.fullName };
  }

  private namedBase(json: JsonObject, enclosingNamespace: string | undefined): NamedTypeBase {
    const declaredName = this.stringAttribute(json, 'name', 'a named type');
    const declaredNamespace = optionalString(json, 'namespace');
    const fullName = qualify(declaredName, declaredNamespace === undefined ? enclosingNamespace : declaredNamespace);
    const lastDot = fullName.lastIndexOf('.');
    return {
      fullName,
      name: fullName.slice(lastDot + 1),
      namespace: lastDot < 0 ? undefined : fullName.slice(0, lastDot),
      doc: optionalString(json, 'doc'),
      aliases: optionalStrings(json, 'aliases'),
      props: extraProps(json, String(json['type'])),
      source: this.source,
    };
  }

  private register(named: NamedTypeModel): void {
    const existing = this.namedTypes.get(named.fullName);
    if (existing !== undefined) {
      this.fail(`type ${named.fullName} is already defined in ${existing.source}; refer to it by name instead`);
    }
    this.namedTypes.set(named.fullName, named);
  }

  private required(json: JsonObject, attribute: string): JsonValue {
    const value = json[attribute];
    if (value === undefined) this.fail(`missing "${attribute}" in ${JSON.stringify(json)}`);
    return value;
  }

  private stringAttribute(json: JsonObject, attribute: string, what: string): string {
    const value = json[attribute];
    if (typeof value !== 'string' || value === '') this.fail(`${what} needs a string "${attribute}"`);
    return value;
  }

  private fail(message: string): never {
    throw new SchemaModelError(`${this.source}: ${message}`);
  }
}

function qualify(name: string, namespace: string | undefined): string {
  if (name.includes('.') || namespace === undefined || namespace === '') return name;
  return `${namespace}.${name}`;
}

function isPrimitiveTypeName(value: unknown): value is PrimitiveTypeName {
  return typeof value === 'string' && (primitiveTypeNames as readonly string[]).includes(value);
}

function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(json: JsonObject, attribute: string): string | undefined {
  const value = json[attribute];
  return typeof value === 'string' ? value : undefined;
}

function optionalStrings(json: JsonObject, attribute: string): string[] | undefined {
  const value = json[attribute];
  if (!Array.isArray(value)) return undefined;
  return value.filter((item): item is string => typeof item === 'string');
}

function extraProps(json: JsonObject, kind: string): ExtraProps {
  const reserved = reservedAttributes[kind] ?? [];
  return Object.fromEntries(Object.entries(json).filter(([key]) => !reserved.includes(key)));
}
