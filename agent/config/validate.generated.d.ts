// The module `npm run build` generates from agent/config/schema.ts (scripts/package/validator.ts):
// Ajv's validate function of the agent config, as code. Only this declaration is in git.
import type { ValidateFunction } from "ajv";

declare const validate: ValidateFunction;
export default validate;
/** schemaDigest(AgentConfig) of the schema it was generated from (agent/config/load.ts). */
export declare const schemaDigest: string;
