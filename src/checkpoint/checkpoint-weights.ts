/**
 * The weights of a model directory: one `model.safetensors`, or shards listed by `model.safetensors.index.json`.
 * Tensors are read one at a time by name, so a checkpoint far larger than memory streams onto a device.
 */
import { existsSync, readdirSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { IrisError } from "../core/errors.js";
import type { HostTensor } from "../core/host-tensor.js";
import { readJsonFile } from "./json-fields.js";
import { SafetensorsFile, type TensorInfo } from "./safetensors.js";

export class CheckpointWeights {
  private readonly files = new Map<string, SafetensorsFile>();
  /** Tensor name → the file that holds it. */
  private readonly location = new Map<string, string>();

  private constructor(readonly modelDir: string) {}

  static open(modelDir: string): CheckpointWeights {
    const weights = new CheckpointWeights(modelDir);
    try {
      weights.index();
    } catch (err) {
      weights.close();
      throw err;
    }
    return weights;
  }

  names(): string[] {
    return [...this.location.keys()];
  }

  has(name: string): boolean {
    return this.location.has(name);
  }

  info(name: string): TensorInfo {
    return this.fileOf(name).info(name);
  }

  read(name: string): HostTensor {
    return this.fileOf(name).read(name);
  }

  /** Indices start .. start+length-1 along `dim` of a tensor, reading only those bytes (a rank's shard). */
  readSlice(name: string, dim: number, start: number, length: number): HostTensor {
    return this.fileOf(name).readSlice(name, dim, start, length);
  }

  /** Bytes read from the files so far. */
  get bytesRead(): number {
    let total = 0;
    for (const file of this.files.values()) total += file.bytesRead;
    return total;
  }

  /** Total bytes of all tensors, for reporting and memory planning before anything is read. */
  totalBytes(): number {
    let total = 0;
    for (const name of this.location.keys()) {
      const { begin, end } = this.info(name);
      total += end - begin;
    }
    return total;
  }

  close(): void {
    for (const file of this.files.values()) file.close();
    this.files.clear();
  }

  private fileOf(name: string): SafetensorsFile {
    const file = this.location.get(name);
    if (file === undefined) throw new IrisError("MODEL_LOAD", `the checkpoint in ${this.modelDir} has no tensor ${name}`);
    return this.files.get(file)!;
  }

  private index(): void {
    const indexPath = join(this.modelDir, "model.safetensors.index.json");
    if (existsSync(indexPath)) {
      const weightMap = readJsonFile(indexPath, "MODEL_LOAD").weight_map;
      if (typeof weightMap !== "object" || weightMap === null) {
        throw new IrisError("MODEL_LOAD", `${indexPath} has no "weight_map" object`);
      }
      for (const [name, file] of Object.entries(weightMap as Record<string, unknown>)) {
        if (typeof file !== "string") throw new IrisError("MODEL_LOAD", `${indexPath}: weight_map.${name} is not a file name`);
        checkInsideModelDir(this.modelDir, file, indexPath);
        this.openFile(file);
        if (!this.files.get(file)!.has(name)) {
          throw new IrisError("MODEL_LOAD", `${indexPath} places ${name} in ${file}, which does not hold it`);
        }
        this.location.set(name, file);
      }
      return;
    }
    const single = "model.safetensors";
    if (!existsSync(join(this.modelDir, single))) {
      const found = safeList(this.modelDir).filter((f) => f.endsWith(".bin") || f.endsWith(".pt"));
      const hint = found.length ? ` (found ${found.join(", ")}: PyTorch pickles are not read; convert them to safetensors)` : "";
      throw new IrisError("MODEL_LOAD", `${this.modelDir} has neither model.safetensors nor model.safetensors.index.json${hint}`);
    }
    this.openFile(single);
    for (const name of this.files.get(single)!.names()) this.location.set(name, single);
  }

  private openFile(file: string): void {
    if (!this.files.has(file)) this.files.set(file, SafetensorsFile.open(join(this.modelDir, file)));
  }
}

/** A shard name must name a file inside the model directory: no absolute path, no `..` that climbs out of it. */
function checkInsideModelDir(modelDir: string, file: string, indexPath: string): void {
  const rel = relative(resolve(modelDir), resolve(modelDir, file));
  if (isAbsolute(file) || rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new IrisError("MODEL_LOAD", `${indexPath} names shard ${JSON.stringify(file)}, outside the model directory; shards must be files inside it`);
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
