// Bundles the pages into src/perpdex/webapp/static (git-ignored), served by perpdex.webapp.
// Run by `make setup` after `npm ci`; every package comes from node_modules (no CDN at run
// time: the exchange may run offline).
import { copyFile, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import * as esbuild from "esbuild";

const root = join(import.meta.dirname, "..");
const out = join(root, "src", "perpdex", "webapp", "static");
const pages = ["trade", "dashboard"];

await rm(out, { recursive: true, force: true });
await mkdir(join(out, "assets"), { recursive: true });
await esbuild.build({
  entryPoints: Object.fromEntries(pages.map((p) => [p, join(import.meta.dirname, "src", p, "main.ts")])),
  outdir: join(out, "assets"),
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  logLevel: "warning",
});
for (const name of [...pages.map((p) => `${p}.html`), "style.css"]) {
  const from = join(import.meta.dirname, name);
  await copyFile(from, name.endsWith(".css") ? join(out, "assets", name) : join(out, name));
}
