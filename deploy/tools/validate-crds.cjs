#!/usr/bin/env node
// Validates Kubernetes objects of the CRDs IAS renders, besides the RayService (see
// tests/delivery): prometheus-operator's ServiceMonitor and Argo CD's Application/AppProject,
// with the JSON-schema validators the kubernetes-models packages generate from those CRDs.
//
//   node deploy/tools/validate-crds.cjs < objects.json     (a JSON array of objects)
//
// Prints one line per problem, "<kind>/<name>: <error>", and exits 1 when there is any, 2 when an
// object's kind is not one this script knows, 0 when all are valid.
"use strict";

const { ServiceMonitor } = require("@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor");
const { Application } = require("@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application");
const { AppProject } = require("@kubernetes-models/argo-cd/argoproj.io/v1alpha1/AppProject");

const MODELS = {
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "argoproj.io/v1alpha1/Application": Application,
  "argoproj.io/v1alpha1/AppProject": AppProject,
};

function main() {
  const input = require("node:fs").readFileSync(0, "utf8");
  const objects = JSON.parse(input);
  let failed = false;
  let unknown = false;
  for (const obj of objects) {
    const key = `${obj.apiVersion}/${obj.kind}`;
    const name = `${obj.kind}/${(obj.metadata || {}).name}`;
    const Model = MODELS[key];
    if (!Model) {
      console.log(`${name}: no validator for ${key}`);
      unknown = true;
      continue;
    }
    try {
      new Model(obj).validate();
      console.log(`${name}: valid`);
    } catch (e) {
      failed = true;
      console.log(`${name}: ${e.message}`);
    }
  }
  process.exit(unknown ? 2 : failed ? 1 : 0);
}

main();
