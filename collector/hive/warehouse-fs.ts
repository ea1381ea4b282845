/**
 * The warehouse's file system as the collector writes it: HDFS through WebHDFS (or HttpFS, the
 * same REST API), or a local path (`file://`) that HiveServer2 sees under the same name (the
 * same host, or a shared mount). Paths are absolute paths on that file system.
 */
import { constants } from "node:fs";
import {
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  utimes,
} from "node:fs/promises";
import path from "node:path";
import { HostflowError } from "../../lib/errors.js";
import { WebHdfs } from "../../lib/hdfs/webhdfs.js";

export interface Entry {
  name: string;
  directory: boolean;
  modificationTime: number;
  /** Bytes (0 for a directory). */
  length: number;
}

export interface WarehouseFs {
  /** For messages: `WebHDFS http://nn:9870 as user hostflow`, `the local file system`. */
  readonly description: string;
  /** Who writes: the WebHDFS user, or this process's user. */
  readonly user: string;
  /** A path's entries, or undefined when it does not exist. */
  list(dir: string): Promise<Entry[] | undefined>;
  mkdirs(dir: string): Promise<void>;
  /** A (small) file's text. */
  read(file: string): Promise<string>;
  /** Writes a new file whole (refuses to replace one); may leave a partial file on failure. */
  write(file: string, data: Uint8Array): Promise<void>;
  /** Moves a file; false when the source is gone. */
  rename(from: string, to: string): Promise<boolean>;
  /**
   * Moves a file to a name that must not exist yet, atomically: true when it moved, false when
   * `to` exists (then `from` stays). What offset claims are made of (claims.ts).
   */
  claim(from: string, to: string): Promise<boolean>;
  /** A (small) file's text, or undefined when it does not exist. */
  readIfAny(file: string): Promise<string | undefined>;
  /** `length` bytes of a file from `offset` (fewer at its end): a Parquet file's footer. */
  readRange(file: string, offset: number, length: number): Promise<Uint8Array>;
  /** Deletes a file or tree; false when there was nothing. */
  delete(target: string): Promise<boolean>;
  /** Sets a file's modification time (tests make a file look old with it). */
  touch(file: string, ms: number): Promise<void>;
}

export class WebHdfsWarehouse implements WarehouseFs {
  readonly description: string;
  constructor(readonly client: WebHdfs) {
    this.description = `WebHDFS ${client.url} as user ${client.user}`;
  }

  get user(): string {
    return this.client.user;
  }

  async list(dir: string): Promise<Entry[] | undefined> {
    const entries = await this.client.list(dir);
    return entries?.map((e) => ({
      name: e.pathSuffix,
      directory: e.type === "DIRECTORY",
      modificationTime: e.modificationTime,
      length: e.length,
    }));
  }

  async mkdirs(dir: string): Promise<void> {
    if (!(await this.client.mkdirs(dir))) {
      throw new HostflowError("HF_WAREHOUSE", `${this.description} could not make ${dir}`);
    }
  }

  write(file: string, data: Uint8Array): Promise<void> {
    return this.client.create(file, data, false);
  }

  read(file: string): Promise<string> {
    return this.client.read(file);
  }

  rename(from: string, to: string): Promise<boolean> {
    return this.client.rename(from, to);
  }

  /**
   * HDFS refuses a rename onto an existing file (the NameNode decides, one at a time). False
   * also when the source is gone: the caller looks at the slot and writes its file again.
   */
  claim(from: string, to: string): Promise<boolean> {
    return this.client.rename(from, to);
  }

  async readIfAny(file: string): Promise<string | undefined> {
    if ((await this.client.status(file)) === undefined) return undefined;
    return this.client.read(file);
  }

  readRange(file: string, offset: number, length: number): Promise<Uint8Array> {
    return this.client.readRange(file, offset, length);
  }

  delete(target: string): Promise<boolean> {
    return this.client.delete(target, true);
  }

  touch(file: string, ms: number): Promise<void> {
    return this.client.setModificationTime(file, ms);
  }
}

/** A local directory: files are fsynced before they are renamed into place. */
export class LocalWarehouse implements WarehouseFs {
  readonly description = "the local file system";
  readonly user = process.env.USER ?? String(process.getuid?.() ?? "");

  async list(dir: string): Promise<Entry[] | undefined> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw this.error("list", dir, error);
    }
    const entries: Entry[] = [];
    for (const name of names) {
      try {
        const s = await stat(path.join(dir, name));
        entries.push({
          name,
          directory: s.isDirectory(),
          modificationTime: s.mtimeMs,
          length: s.isDirectory() ? 0 : s.size,
        });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT")
          throw this.error("list", dir, error);
      }
    }
    return entries;
  }

  async mkdirs(dir: string): Promise<void> {
    try {
      await mkdir(dir, { recursive: true, mode: 0o755 });
    } catch (error) {
      throw this.error("mkdir", dir, error);
    }
  }

  async read(file: string): Promise<string> {
    try {
      return await readFile(file, "utf8");
    } catch (error) {
      throw this.error("read", file, error);
    }
  }

  async write(file: string, data: Uint8Array): Promise<void> {
    try {
      const handle = await open(
        file,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
        0o644,
      );
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw this.error("write", file, error);
    }
  }

  async rename(from: string, to: string): Promise<boolean> {
    try {
      await rename(from, to);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw this.error("rename", from, error);
    }
  }

  /** link(2) fails with EEXIST when the name is taken: an exclusive rename in two steps. */
  async claim(from: string, to: string): Promise<boolean> {
    try {
      await link(from, to);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw this.error("link", from, error);
    }
    await unlink(from).catch(() => undefined);
    return true;
  }

  async readIfAny(file: string): Promise<string | undefined> {
    try {
      return await readFile(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw this.error("read", file, error);
    }
  }

  async readRange(file: string, offset: number, length: number): Promise<Uint8Array> {
    try {
      const handle = await open(file, constants.O_RDONLY);
      try {
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await handle.read(buffer, 0, length, offset);
        return buffer.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw this.error("read", file, error);
    }
  }

  async delete(target: string): Promise<boolean> {
    try {
      await stat(target);
    } catch {
      return false;
    }
    try {
      await rm(target, { recursive: true, force: true });
      return true;
    } catch (error) {
      throw this.error("delete", target, error);
    }
  }

  async touch(file: string, ms: number): Promise<void> {
    await utimes(file, ms / 1000, ms / 1000);
  }

  private error(op: string, target: string, error: unknown): HostflowError {
    const code = (error as NodeJS.ErrnoException).code;
    const message = `cannot ${op} ${target} on ${this.description} (user ${this.user}): ${(error as Error).message}`;
    if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
      return new HostflowError("HF_WAREHOUSE_DENIED", message, { cause: error });
    }
    if (code === "ENOSPC" || code === "EDQUOT") {
      return new HostflowError("HF_WAREHOUSE_FULL", message, { cause: error });
    }
    return new HostflowError("HF_WAREHOUSE", message, { cause: error });
  }
}

/**
 * Where the collector can write `warehouse_dir`: a `file://` URI on the local file system; an
 * HDFS path (`/…` or `hdfs://…`) through `webhdfs_url`; else nowhere (undefined: statements).
 * Paths on it are `fsPath(location)`.
 */
export function warehouseFs(settings: {
  warehouse_dir: string;
  webhdfs_url?: string | undefined;
  webhdfs_user: string;
}): WarehouseFs | undefined {
  if (settings.warehouse_dir.startsWith("file:")) return new LocalWarehouse();
  if (settings.webhdfs_url === undefined) return undefined;
  return new WebHdfsWarehouse(
    new WebHdfs({ url: settings.webhdfs_url, user: settings.webhdfs_user }),
  );
}

/** The path part of `/a/b`, `hdfs://namenode:8020/a/b` or `file:///a/b`. */
export function fsPath(location: string): string {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(location) ? new URL(location).pathname : location;
}
