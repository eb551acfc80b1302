#!/usr/bin/env node
// Lints a theme app extension with Shopify's theme-check (@shopify/theme-check-node, pinned in
// package.json): `npm ci && npm run theme-check`.  The extension's shopify.extension.toml selects
// theme-check's "theme-app-extension" checks.  Prints one line per offense ("file:line [Check]
// message") and exits 1 when there is any, 2 when the check itself failed.
"use strict";
const path = require("node:path");
const { themeCheckRun } = require("@shopify/theme-check-node");

async function main() {
  const root = path.resolve(process.argv[2] || path.join(__dirname, "comeback-widget"));
  // theme-check tries to refresh its Liquid docs from the network, then uses the copy it ships;
  // its notes about that go to stderr only when asked for.
  const log = process.env.THEME_CHECK_VERBOSE ? (message) => console.error(message) : () => {};
  const { theme, offenses } = await themeCheckRun(root, undefined, log);
  for (const offense of offenses) {
    const file = path.relative(process.cwd(), new URL(offense.uri).pathname);
    const line = offense.start ? offense.start.line + 1 : 0;
    console.log(`${file}:${line} [${offense.check}] ${offense.message}`);
  }
  console.log(`theme-check: ${theme.length} files, ${offenses.length} offenses`);
  process.exit(offenses.length ? 1 : 0);
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
