/**
 * The agent as one self-contained ES module (`node hostflow-agent.mjs …`): esbuild bundles the
 * build's dist/agent/cli.js with every package it uses. One file loads several times faster
 * than the ~300 modules of dist/ and node_modules, which is most of the agent's start.
 */
import { readFile } from "node:fs/promises";
import { isBuiltin } from "node:module";
import path from "node:path";
import { build, type Plugin } from "esbuild";

export interface BundleOptions {
  /** The project root, whose dist/ `npm run build` made. */
  root: string;
  outfile: string;
  /** The agent's version, for --version (a bundle has no package.json beside it). */
  version: string;
  /** Another entry than dist/agent/cli.js, bundled the same way (the bundle's tests). */
  entry?: string;
}

/**
 * What changes in the bundle, at build time, so that it needs nothing beside it:
 * - `createRequire(import.meta.url)` (lib/log.ts: pino-pretty; lib/kafkajs-idle.ts: kafkajs's
 *   request queue) resolves from the file's own folder, where an installed bundle has no
 *   node_modules: those calls become plain `require`, which esbuild bundles — for kafkajs the
 *   very module instance the bundled client uses, so the idle fix patches the right class.
 * - lib/project.ts finds the version in the checkout's package.json: the bundle has it built in.
 * - The Hive client (only the collector's checks use it) and Ajv's schema compiler (the agent's
 *   fallback when dist/ has no generated validator; the bundle always has one) are left out:
 *   ~0.7 MB that an agent never runs.
 */
function agentOnly(root: string, version: string): Plugin {
  const dist = path.join(root, "dist");
  const left = (what: string) =>
    `throw new Error(${JSON.stringify(`${what} is not part of the agent's bundle`)});`;
  const replaced: Record<string, string> = {
    [path.join(dist, "lib/project.js")]:
      `export function projectVersion() { return ${JSON.stringify(version)}; }\n` +
      `export function projectRoot() { ${left("a project root")} }\n`,
    [path.join(dist, "lib/hive/client.js")]:
      `export class HiveClient { static connect() { ${left("the Hive client")} } }\n`,
    [path.join(dist, "lib/config/validate.js")]:
      `export function compileConfigSchema() { ${left("Ajv's schema compiler")} }\n`,
  };
  return {
    name: "hostflow-agent-only",
    setup(b) {
      b.onLoad({ filter: /\.js$/ }, async (args) => {
        if (!args.path.startsWith(`${dist}${path.sep}`)) return undefined;
        const stub = replaced[args.path];
        if (stub !== undefined) return { contents: stub, loader: "js" };
        const text = await readFile(args.path, "utf8");
        if (!text.includes("createRequire(import.meta.url)")) return undefined;
        const contents = text
          .replace(/^const require = createRequire\(import\.meta\.url\);$/m, "")
          .replace(/createRequire\(import\.meta\.url\)\(/g, "require(");
        if (contents.includes("createRequire(import.meta.url)")) {
          throw new Error(`${args.path}: a createRequire the bundle does not know how to resolve`);
        }
        return { contents, loader: "js" };
      });
    },
  };
}

/**
 * Node's own modules, where ES modules import them, loaded with require() instead. An ES import
 * of a built-in makes Node build its ES facade, reading every export: on Node 22, node:http's
 * `WebSocket` getter then loads undici, which needs WebAssembly, which the agent's --lite-mode
 * turns off — the agent died at start (`WebAssembly is not defined`). require() reads nothing,
 * and skips the facades' cost at start.
 */
const builtinsByRequire: Plugin = {
  name: "builtins-by-require",
  setup(b) {
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      if (!isBuiltin(args.path) || args.namespace === "builtin-by-require") return undefined;
      if (args.kind !== "import-statement" && args.kind !== "dynamic-import") return undefined;
      return { path: args.path, namespace: "builtin-by-require" };
    });
    b.onLoad({ filter: /.*/, namespace: "builtin-by-require" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: "js",
    }));
  },
};

export async function bundleAgent(options: BundleOptions): Promise<{ bytes: number }> {
  const result = await build({
    entryPoints: [options.entry ?? path.join(options.root, "dist/agent/cli.js")],
    outfile: options.outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // The CommonJS packages inside (kafkajs, pino …) require Node's own modules.
    banner: {
      js: 'import { createRequire as __hostflowRequire } from "node:module";\nconst require = __hostflowRequire(import.meta.url);',
    },
    // Whitespace only: lib/kafkajs-idle.ts recognises kafkajs's methods by their source, which
    // minifySyntax would rewrite.
    minifyWhitespace: true,
    legalComments: "eof",
    metafile: true,
    logLevel: "warning",
    plugins: [agentOnly(options.root, options.version), builtinsByRequire],
  });
  const output = Object.values(result.metafile.outputs)[0];
  return { bytes: output?.bytes ?? 0 };
}
