// The TypeScript types of the API, rendered from an OpenAPI document with openapi-typescript:
// shared by `npm run generate` (which writes src/schema.ts) and the test that holds the
// checked-in file to the document the sidecar serves.
import openapiTS, { astToString } from "openapi-typescript";

const HEADER = `// The partner-access HTTP API's types, generated from its OpenAPI document by
// openapi-typescript (\`npm run generate\`; do not edit: a test compares this file with the
// document the sidecar serves).
`;

/** The contents of src/schema.ts for the OpenAPI document `doc` (parsed JSON). */
export async function render(doc) {
  const ast = await openapiTS(doc, { alphabetize: true });
  return HEADER + astToString(ast);
}
