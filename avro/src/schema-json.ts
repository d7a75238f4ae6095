import type { FieldModel, JsonObject, JsonValue, NamedTypeModel, SchemaModel, TypeModel } from './schema-model.ts';
import { primitiveTypeNames } from './schema-model.ts';

/**
 * Writes a named type as one self-contained schema: every referenced named type is inlined at its
 * first use and referred to by name afterwards. Attribute order, namespace elision and name
 * qualification follow Avro Java's Schema.toString(), which is what Confluent's serializers register,
 * so a Java producer and this project register the same text for the same subject.
 */
export function selfContainedSchemaJson(model: SchemaModel, fullName: string): string {
  return JSON.stringify(new SelfContainedWriter(model).named(fullName, undefined));
}

class SelfContainedWriter {
  private readonly written = new Set<string>();

  constructor(private readonly model: SchemaModel) {}

  type(type: TypeModel, enclosingNamespace: string | undefined): JsonValue {
    switch (type.kind) {
      case 'primitive':
        return Object.keys(type.props).length === 0 ? type.primitive : { type: type.primitive, ...type.props };
      case 'reference':
        return this.named(type.fullName, enclosingNamespace);
      case 'array':
        return { type: 'array', items: this.type(type.items, enclosingNamespace), ...type.props };
      case 'map':
        return { type: 'map', values: this.type(type.values, enclosingNamespace), ...type.props };
      case 'union':
        return type.branches.map((branch) => this.type(branch, enclosingNamespace));
    }
  }

  named(fullName: string, enclosingNamespace: string | undefined): JsonValue {
    const named = this.model.namedTypes.get(fullName);
    if (named === undefined) throw new Error(`unknown type ${fullName}`);
    if (this.written.has(fullName)) return nameRelativeTo(named, enclosingNamespace);
    this.written.add(fullName);

    const json: JsonObject = { type: named.kind, ...nameAttributes(named, enclosingNamespace) };
    if (named.doc !== undefined) json['doc'] = named.doc;
    switch (named.kind) {
      case 'record':
        json['fields'] = named.fields.map((field) => this.field(field, named.namespace));
        break;
      case 'enum':
        json['symbols'] = named.symbols;
        if (named.defaultSymbol !== undefined) json['default'] = named.defaultSymbol;
        break;
      case 'fixed':
        json['size'] = named.size;
        break;
    }
    Object.assign(json, named.props);
    if (named.aliases !== undefined && named.aliases.length > 0) json['aliases'] = named.aliases;
    return json;
  }

  private field(field: FieldModel, recordNamespace: string | undefined): JsonObject {
    const json: JsonObject = { name: field.name, type: this.type(field.type, recordNamespace) };
    if (field.doc !== undefined) json['doc'] = field.doc;
    if (field.defaultValue !== undefined) json['default'] = field.defaultValue;
    if (field.order !== undefined && field.order !== 'ascending') json['order'] = field.order;
    if (field.aliases !== undefined && field.aliases.length > 0) json['aliases'] = field.aliases;
    return { ...json, ...field.props };
  }
}

function nameAttributes(named: NamedTypeModel, enclosingNamespace: string | undefined): JsonObject {
  if (named.namespace === enclosingNamespace) return { name: named.name };
  // An explicit empty namespace is how a null-namespace type escapes an enclosing namespace.
  return { name: named.name, namespace: named.namespace ?? '' };
}

function nameRelativeTo(named: NamedTypeModel, enclosingNamespace: string | undefined): string {
  const sameNamespace = named.namespace !== undefined && named.namespace === enclosingNamespace;
  // A short name equal to a primitive would be read back as the primitive.
  const clashesWithPrimitive = (primitiveTypeNames as readonly string[]).includes(named.name);
  return sameNamespace && !clashesWithPrimitive ? named.name : named.fullName;
}
