/**
 * The JSON Schema (draft 2020-12) of a contract's event, for users who register schemas in a
 * schema registry. It says what the contract's field checks say (types, required, nullable,
 * ranges, allowed values, lengths, patterns, unknown fields); what JSON Schema cannot say is left
 * to the processor: finite numbers only, no duplicate keys, and the time checks.
 *
 * @module
 */
import type { Contract, FieldSpec } from "./spec.ts";

/** The schema of one field. */
function fieldSchema(f: FieldSpec): Record<string, unknown> {
  const type = f.type === "timestamp" ? (f.unit === "iso8601" ? "string" : "number") : f.type;
  const s: Record<string, unknown> = { type: f.nullable ? [type, "null"] : type };
  if (f.description) s.description = f.description;
  if (f.type === "timestamp") {
    if (f.unit === "iso8601") s.format = "date-time";
    s.description ??= f.unit === "iso8601" ? "ISO 8601 time" : `Unix time in ${f.unit}`;
  }
  if (f.min !== undefined) s.minimum = f.min;
  if (f.max !== undefined) s.maximum = f.max;
  if (f.enum) s.enum = f.nullable ? [...f.enum, null] : f.enum;
  if (f.minLength !== undefined) s.minLength = f.minLength;
  if (f.maxLength !== undefined) s.maxLength = f.maxLength;
  if (f.pattern) s.pattern = f.pattern;
  if (f.default !== undefined) s.default = f.default;
  if (f.examples) s.examples = f.examples;
  return s;
}

/** The event's JSON Schema. */
export function jsonSchemaOf(contract: Contract): Record<string, unknown> {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: `urn:anomaly-flow:contract:${contract.name}:${contract.version}`,
    title: contract.name,
    description: contract.description ?? `Events of contract ${contract.name} ${contract.version}`,
    type: "object",
    properties: Object.fromEntries(contract.fields.map((f) => [f.name, fieldSchema(f)])),
    required: contract.fields.filter((f) => f.required).map((f) => f.name),
    additionalProperties: contract.unknownFields === "allow",
    "x-anomaly-flow": {
      version: contract.version,
      key: contract.key ?? null,
      time: contract.time.field,
      features: contract.features.map((f) => f.field),
    },
  };
}
