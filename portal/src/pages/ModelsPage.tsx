import { useState, type FormEvent } from "react";
import { createModel, deleteModel, listModels, updateModel } from "../api/endpoints";
import type { ModelPublic, ModelWrite } from "../api/types";
import { useOrgDirectory } from "../components/OrgDirectory";
import { ActionsHeader, ConfirmButton, Empty, ErrorMessage, Field, Loading, Notice, PageHeader, Section } from "../components/ui";
import { formatCost, formatDate } from "../lib/format";
import { useAction, useAsync } from "../lib/useAsync";
import { validateModelForm, type Errors, type ModelFormValues } from "../lib/validation";

const BLANK: ModelFormValues = { name: "", backend: "serve", target: "", enabled: true, priceIn: "0", priceOut: "0", allOrgs: true, orgIds: [] };

function valuesOf(m: ModelPublic): ModelFormValues {
  return {
    name: m.name,
    backend: m.backend_kind,
    target: (m.backend_kind === "serve" ? m.serve : m.remote_url) ?? "",
    enabled: m.enabled,
    priceIn: m.price_per_million_input,
    priceOut: m.price_per_million_output,
    allOrgs: m.allowed_org_ids === null,
    orgIds: m.allowed_org_ids ?? [],
  };
}

/** The full body of a new mapping. */
function createBody(v: ModelFormValues): ModelWrite {
  const body: ModelWrite = {
    name: v.name.trim(),
    enabled: v.enabled,
    allowed_org_ids: v.allOrgs ? null : v.orgIds,
    price_per_million_input: v.priceIn.trim() || "0",
    price_per_million_output: v.priceOut.trim() || "0",
  };
  body[v.backend] = v.target.trim();
  return body;
}

/** Only the fields that changed (PATCH). */
export function patchBody(before: ModelFormValues, v: ModelFormValues): ModelWrite {
  const body: ModelWrite = {};
  if (v.name.trim() !== before.name) body.name = v.name.trim();
  if (v.backend !== before.backend || v.target.trim() !== before.target) body[v.backend] = v.target.trim();
  if (v.enabled !== before.enabled) body.enabled = v.enabled;
  const sameOrgs = v.allOrgs === before.allOrgs && (v.allOrgs || [...v.orgIds].sort().join() === [...before.orgIds].sort().join());
  if (!sameOrgs) body.allowed_org_ids = v.allOrgs ? null : v.orgIds;
  if ((v.priceIn.trim() || "0") !== before.priceIn) body.price_per_million_input = v.priceIn.trim() || "0";
  if ((v.priceOut.trim() || "0") !== before.priceOut) body.price_per_million_output = v.priceOut.trim() || "0";
  return body;
}

function ModelForm({ initial, submitLabel, onSubmit, onCancel }: {
  initial: ModelFormValues;
  submitLabel: string;
  onSubmit: (v: ModelFormValues) => Promise<boolean>;
  onCancel?: () => void;
}) {
  const { orgs } = useOrgDirectory();
  const [v, setV] = useState<ModelFormValues>(initial);
  const [errors, setErrors] = useState<Errors<"name" | "target" | "priceIn" | "priceOut">>({});
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const errs = validateModelForm(v);
    setErrors(errs);
    if (Object.values(errs).some(Boolean)) return;
    setBusy(true);
    try {
      if ((await onSubmit(v)) && !onCancel) setV(initial);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form-grid" onSubmit={submit} noValidate>
      <Field label="Public model name" error={errors.name} hint="What clients send as model, e.g. llama3">
        {(p) => <input {...p} type="text" value={v.name} onChange={(e) => setV({ ...v, name: e.target.value })} />}
      </Field>
      <Field label="Backend">
        {(p) => (
          <select {...p} value={v.backend} onChange={(e) => setV({ ...v, backend: e.target.value as ModelFormValues["backend"] })}>
            <option value="serve">Ray Serve engine</option>
            <option value="remote_url">Remote OpenAI-compatible URL</option>
          </select>
        )}
      </Field>
      <Field label={v.backend === "serve" ? "Engine deployment name" : "Base URL"} error={errors.target}>
        {(p) => (
          <input
            {...p}
            type={v.backend === "serve" ? "text" : "url"}
            value={v.target}
            placeholder={v.backend === "serve" ? "llama3-engine" : "http://host:8000/v1"}
            onChange={(e) => setV({ ...v, target: e.target.value })}
          />
        )}
      </Field>
      <Field label="Input price per million tokens" error={errors.priceIn}>
        {(p) => <input {...p} type="text" inputMode="decimal" value={v.priceIn} onChange={(e) => setV({ ...v, priceIn: e.target.value })} />}
      </Field>
      <Field label="Output price per million tokens" error={errors.priceOut}>
        {(p) => <input {...p} type="text" inputMode="decimal" value={v.priceOut} onChange={(e) => setV({ ...v, priceOut: e.target.value })} />}
      </Field>
      <div className="field checkbox-field">
        <label>
          <input type="checkbox" checked={v.enabled} onChange={(e) => setV({ ...v, enabled: e.target.checked })} /> Enabled
        </label>
      </div>
      <fieldset className="form-wide">
        <legend>Organisations allowed</legend>
        <label className="checkbox">
          <input type="checkbox" checked={v.allOrgs} onChange={(e) => setV({ ...v, allOrgs: e.target.checked })} /> Every organisation
        </label>
        {!v.allOrgs && (
          <div className="org-checks">
            {orgs.length === 0 && <span className="hint">No organisations yet: none may use the model.</span>}
            {orgs.map((o) => (
              <label key={o.id} className="checkbox">
                <input
                  type="checkbox"
                  checked={v.orgIds.includes(o.id)}
                  onChange={(e) => setV({ ...v, orgIds: e.target.checked ? [...v.orgIds, o.id] : v.orgIds.filter((x) => x !== o.id) })}
                />{" "}
                {o.name}
              </label>
            ))}
          </div>
        )}
      </fieldset>
      <div className="form-actions form-wide">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Saving…" : submitLabel}
        </button>
        {onCancel && (
          <button type="button" className="btn" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

export function ModelsPage() {
  const models = useAsync((signal) => listModels(signal), []);
  const { find } = useOrgDirectory();
  const [editing, setEditing] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const create = useAction();
  const edit = useAction();

  const rows = (models.data?.data ?? []).filter((m): m is ModelPublic => "id" in m);

  async function onCreate(v: ModelFormValues): Promise<boolean> {
    const m = await create.run(() => createModel(createBody(v)));
    if (m) {
      setNote(`Model ${m.name} added; the gateway picks it up within a few seconds.`);
      models.reload();
      return true;
    }
    return false;
  }

  async function onEdit(model: ModelPublic, v: ModelFormValues): Promise<boolean> {
    const body = patchBody(valuesOf(model), v);
    if (Object.keys(body).length === 0) {
      setEditing(null);
      return true;
    }
    const m = await edit.run(() => updateModel(model.id, body));
    if (m) {
      setNote(`Model ${m.name} saved; the gateway applies the change within a few seconds.`);
      setEditing(null);
      models.reload();
      return true;
    }
    return false;
  }

  const allowed = (m: ModelPublic) =>
    m.allowed_org_ids === null
      ? "Every organisation"
      : m.allowed_org_ids.length === 0
        ? "None"
        : m.allowed_org_ids.map((id) => find(id)?.name ?? id).join(", ");

  return (
    <>
      <PageHeader title="Model mappings" subtitle="Public model names and the engines or URLs that serve them." />
      <Section title="Add a model">
        <ModelForm initial={BLANK} submitLabel="Add model" onSubmit={onCreate} />
        <ErrorMessage error={create.error} />
      </Section>
      <Section title="Models">
        {note && <Notice>{note}</Notice>}
        <ErrorMessage error={models.error} onRetry={models.reload} />
        {models.loading && !models.data ? (
          <Loading label="Loading models…" />
        ) : rows.length === 0 && !models.error ? (
          <Empty>No model mappings yet.</Empty>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Backend</th>
                  <th scope="col">Enabled</th>
                  <th scope="col">Organisations</th>
                  <th scope="col" className="num">
                    Input / 1M
                  </th>
                  <th scope="col" className="num">
                    Output / 1M
                  </th>
                  <th scope="col">Updated</th>
                  <ActionsHeader />
                </tr>
              </thead>
              <tbody>
                {rows.map((m) =>
                  editing === m.id ? (
                    <tr key={m.id} className="details-row">
                      <td colSpan={8}>
                        <h3>Edit {m.name}</h3>
                        <ModelForm initial={valuesOf(m)} submitLabel="Save changes" onSubmit={(v) => onEdit(m, v)} onCancel={() => setEditing(null)} />
                        <ErrorMessage error={edit.error} />
                      </td>
                    </tr>
                  ) : (
                    <tr key={m.id}>
                      <td className="row-name">{m.name}</td>
                      <td>
                        <span className="hint">{m.backend_kind === "serve" ? "Serve" : "URL"}</span> <code>{m.serve ?? m.remote_url}</code>
                      </td>
                      <td>{m.enabled ? "Yes" : "No"}</td>
                      <td>{allowed(m)}</td>
                      <td className="num">{formatCost(m.price_per_million_input)}</td>
                      <td className="num">{formatCost(m.price_per_million_output)}</td>
                      <td>{formatDate(m.updated_at)}</td>
                      <td className="actions">
                        <button
                          type="button"
                          className="btn btn-small"
                          onClick={() => {
                            edit.clear();
                            setEditing(m.id);
                          }}
                        >
                          Edit
                        </button>
                        <ConfirmButton
                          label="Remove"
                          title="Remove this model mapping?"
                          message={
                            <p>
                              Calls naming <strong>{m.name}</strong> get 404 <code>model_not_found</code> within a few seconds. Recorded usage stays.
                            </p>
                          }
                          confirmLabel="Remove model"
                          action={() => deleteModel(m.id)}
                          onDone={() => {
                            setNote(`Model ${m.name} removed.`);
                            models.reload();
                          }}
                        />
                      </td>
                    </tr>
                  ),
                )}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </>
  );
}
