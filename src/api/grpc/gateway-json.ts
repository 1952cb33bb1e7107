/**
 * A response message as etcd's gateway writes it (grpc-gateway's JSON marshaller with
 * the proto field names): fields in the .proto's order, 64-bit integers as decimal
 * strings, enums by name, bytes as base64, and every field holding its zero value left
 * out (0, "0", false, "", an empty list, an enum's first value). Clients test fields
 * for presence: `"deleted"` absent means nothing was deleted, `"TTL"` absent on a
 * keep-alive means the lease is gone, a PUT event carries no `"type"`. A nested
 * message that is set is written even when all its fields are zero (`{}`), as etcd's is.
 */
import protobuf from 'protobufjs';

const conversion = { keepCase: true, longs: String, enums: String, bytes: String, defaults: false } as const;

export function gatewayJson(type: protobuf.Type, message: Record<string, unknown>): Record<string, unknown> {
  return withoutZeros(type, type.toObject(type.fromObject(message), conversion));
}

function withoutZeros(type: protobuf.Type, json: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const value = json[field.name];
    if (value === undefined || value === null) continue;
    field.resolve();
    const nested = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (field.repeated) {
      const items = value as unknown[];
      if (items.length > 0) out[field.name] = nested ? items.map((item) => withoutZeros(nested, item as Record<string, unknown>)) : items;
    } else if (nested) {
      out[field.name] = withoutZeros(nested, value as Record<string, unknown>);
    } else if (!isZero(field, value)) {
      out[field.name] = value;
    }
  }
  return out;
}

function isZero(field: protobuf.Field, value: unknown): boolean {
  if (field.resolvedType instanceof protobuf.Enum) return field.resolvedType.values[String(value)] === 0;
  return value === 0 || value === '0' || value === false || value === '';
}
