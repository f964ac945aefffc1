// Bundles the console into dist/: app-<hash>.js and app-<hash>.css, and index.html naming them.
//   node build.mjs            (run by `python -m scripts.console build`, after the type check)
import { build } from "esbuild";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

rmSync("dist", { recursive: true, force: true });
const result = await build({
  entryPoints: { app: "src/main.tsx" },
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  jsx: "automatic",
  jsxImportSource: "preact",
  entryNames: "[name]-[hash]",
  outdir: "dist",
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});
const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
const script = outputs.find((name) => name.endsWith(".js"));
const style = outputs.find((name) => name.endsWith(".css"));
const html = readFileSync("src/index.html", "utf8").replace("%SCRIPT%", script).replace("%STYLE%", style);
writeFileSync("dist/index.html", html);
for (const [path, { bytes }] of Object.entries(result.metafile.outputs)) console.log(`${basename(path)}\t${bytes} bytes`);
