import crypto from 'node:crypto';
import type * as AjvModule from 'ajv';
import type { default as AjvClass, Options, ValidateFunction } from 'ajv';

/**
 * JSON Schema validators: compiled by ajv once per schema, or taken ready-made from the build.
 *
 * Compiling every interface's and app kind's schema cost a node ~300 ms of start-up (ajv generates
 * and evals a function per schema, after compiling its meta-schema). `npm run build` compiles them
 * all ahead (application/precompile.ts, ajv's standalone code) into `validators.generated.js`
 * beside this module; a node then finds each schema's validator there by a digest of the schema and
 * of ajv's options, and compiles only a schema the build did not see (running from source, a
 * schema built from runtime data). A digest that matches is the same schema: nothing is guessed.
 */

// strict, but a `required` may name properties defined elsewhere (the oneOf / not branches of a parent)
export const AJV_OPTIONS: Options = {
  allErrors: true,
  strict: true,
  strictRequired: false,
  coerceTypes: false,
  useDefaults: false,
};

/**
 * What identifies a compiled validator: the schema (as JSON: TypeBox's symbol keys are not JSON
 * Schema) and ajv's options.
 */
export function schemaKey(schema: object): string {
  const digest = crypto
    .createHash('sha256')
    .update(JSON.stringify(AJV_OPTIONS))
    .update('\0')
    .update(JSON.stringify(schema))
    .digest('hex');
  return `v${digest.slice(0, 32)}`;
}

type Precompiled = Record<string, ValidateFunction>;
let precompiled: Precompiled | undefined;
function ready(): Precompiled {
  if (precompiled) return precompiled;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    precompiled = require('./validators.generated') as Precompiled;
  } catch {
    precompiled = {}; // running from source, or a build without it: every schema is compiled here
  }
  return precompiled;
}

let ajv: AjvClass | undefined;
/** the ajv instance, created (and its module loaded) only when a schema must be compiled here */
export function compiler(source = false): AjvClass {
  if (source) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { default: Ajv } = require('ajv') as typeof AjvModule;
    return new Ajv({ ...AJV_OPTIONS, code: { source: true } });
  }
  if (!ajv) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { default: Ajv } = require('ajv') as typeof AjvModule;
    ajv = new Ajv(AJV_OPTIONS);
  }
  return ajv;
}

const seen = new Map<string, object>();
let compiledHere = 0;

/** The validator of `schema`: the build's, or compiled now with the same options. */
export function validatorOf(schema: object): ValidateFunction {
  const key = schemaKey(schema);
  seen.set(key, schema);
  const ready_ = ready()[key];
  if (ready_) return ready_;
  compiledHere++;
  return compiler().compile(schema);
}

/** every schema asked for so far, by key (the build compiles these ahead) */
export function schemasSeen(): ReadonlyMap<string, object> {
  return seen;
}

/** how many schemas this process compiled itself instead of taking the build's (0 on a built node) */
export function compiledAtRuntime(): number {
  return compiledHere;
}
