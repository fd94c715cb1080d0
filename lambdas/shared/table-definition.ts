/**
 * The table's physical shape, declared once: the CDK storage construct and local mode's emulator
 * setup both create the table from this.
 */
export const TABLE_DEFINITION = {
  partitionKey: "pk",
  sortKey: "sk",
  indexes: [{ name: "gsi1", partitionKey: "gsi1pk", sortKey: "gsi1sk" }],
} as const;
