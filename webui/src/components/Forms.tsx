import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, post } from '../lib/api';
import { ErrorBox, Modal } from './common';

/** A modal with one text field: rename a run or a model, name a new model. */
export function TextPrompt({
  title,
  label,
  initial = '',
  submit = 'Save',
  onSubmit,
  onClose,
}: {
  title: string;
  label: string;
  initial?: string;
  submit?: string;
  onSubmit: (value: string) => Promise<unknown>;
  onClose: () => void;
}) {
  const [value, setValue] = useState(initial);
  const [err, setErr] = useState<Error>();
  const [busy, setBusy] = useState(false);
  return (
    <Modal title={title} onClose={onClose}>
      <form
        class="form"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          try {
            await onSubmit(value.trim());
          } catch (x: any) {
            setErr(x);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          {label}
          <input autoFocus required aria-label={label} value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        </label>
        <ErrorBox error={err} />
        <div class="row end">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button class="primary" type="submit" disabled={busy}>
            {submit}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/**
 * Register a logged model (or a run's artifact path) as a new version of a registered model, new
 * or existing, as MLflow's "Register model" does: the source is `models:/<model_id>` for a logged
 * model, `runs:/<run_id>/<path>` for a run artifact.
 */
export function RegisterModel({
  source,
  runId,
  modelId,
  onClose,
  onDone,
}: {
  source: string;
  runId?: string;
  modelId?: string;
  onClose: () => void;
  onDone: (name: string, version: string) => void;
}) {
  const [name, setName] = useState('');
  const [err, setErr] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const [known, setKnown] = useState<string[]>([]);
  useEffect(() => {
    get<{ registered_models?: { name: string }[] }>('registered-models/search', { max_results: 1000 }).then(
      (r) => setKnown((r.registered_models || []).map((m) => m.name)),
      () => setKnown([]),
    );
  }, []);
  return (
    <Modal title="Register model" onClose={onClose}>
      <form
        class="form"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          try {
            const n = name.trim();
            try {
              await post('registered-models/create', { name: n });
            } catch (x) {
              if (!(x instanceof ApiError && x.code === 'RESOURCE_ALREADY_EXISTS')) throw x;
            }
            const r = await post<{ model_version: { version: string } }>('model-versions/create', {
              name: n,
              source,
              run_id: runId,
              model_id: modelId,
            });
            onDone(n, String(r.model_version.version));
          } catch (x: any) {
            setErr(x);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          Model name
          <input
            autoFocus
            required
            list="registered-model-names"
            aria-label="Registered model name"
            value={name}
            placeholder="a new or an existing registered model"
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </label>
        <datalist id="registered-model-names">
          {known.map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
        <p class="muted small">
          Source: <code>{source}</code>
        </p>
        <ErrorBox error={err} />
        <div class="row end">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button class="primary" type="submit" disabled={busy}>
            Register
          </button>
        </div>
      </form>
    </Modal>
  );
}
