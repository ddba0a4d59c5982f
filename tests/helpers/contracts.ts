/**
 * What the example contracts promise of their samples, shared by the replay and process tests.
 *
 * @module
 */

/** The check each generator fault of a contract must end in. */
export const EXPECTED: Record<string, Record<string, string>> = {
  "iot-sensor": {
    missing_field: "required",
    out_of_range: "range_value",
    bad_type: "schema",
    bad_enum: "schema",
    unknown_field: "schema",
    stale: "freshness",
  },
  payments: {
    missing_field: "required",
    out_of_range: "range_amount",
    bad_type: "type_amount",
    bad_enum: "enum_currency",
    unknown_field: "schema",
    stale: "freshness",
  },
  "pipeline-metrics": {
    missing_field: "required",
    out_of_range: "range_rows",
    bad_type: "type_rows",
    bad_enum: "enum_status",
    unknown_field: "schema",
    stale: "freshness",
  },
};
