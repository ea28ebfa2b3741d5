export interface KV {
  key: string;
  value: string;
}
export interface Metric {
  key: string;
  value: number | string;
  timestamp: number;
  step: number;
  run_id?: string;
}
export interface RunInfo {
  run_id: string;
  run_uuid?: string;
  run_name?: string;
  experiment_id: string;
  user_id?: string;
  status: string;
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage: string;
}
export interface DatasetInput {
  tags?: KV[];
  dataset: { name: string; digest: string; source_type?: string; source?: string; schema?: string; profile?: string };
}
export interface Run {
  info: RunInfo;
  data: { metrics?: Metric[]; params?: KV[]; tags?: KV[] };
  inputs?: { dataset_inputs?: DatasetInput[]; model_inputs?: { model_id: string }[] };
  outputs?: { model_outputs?: { model_id: string; step?: number }[] };
}
export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage: string;
  last_update_time?: number;
  creation_time?: number;
  tags?: KV[];
}
export interface ModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  user_id?: string;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  status?: string;
  status_message?: string;
  tags?: KV[];
  run_link?: string;
  aliases?: string[];
  model_id?: string;
}
export interface RegisteredModel {
  name: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  user_id?: string;
  description?: string;
  latest_versions?: ModelVersion[];
  tags?: KV[];
  aliases?: { alias: string; version: string }[];
}
export interface LoggedModel {
  info: {
    model_id: string;
    experiment_id: string;
    name: string;
    creation_timestamp_ms?: number;
    last_updated_timestamp_ms?: number;
    artifact_uri?: string;
    status?: string;
    model_type?: string;
    source_run_id?: string;
    tags?: KV[];
    registrations?: { name: string; version: string }[];
  };
  data?: { params?: KV[]; metrics?: Metric[] };
}

/** A run with its params/metrics/tags indexed once, for fast table cells and sorting. */
export interface RunRow {
  id: string;
  run: Run;
  name: string;
  params: Record<string, string>;
  metrics: Record<string, number>;
  tags: Record<string, string>;
  parentId: string | null;
}
