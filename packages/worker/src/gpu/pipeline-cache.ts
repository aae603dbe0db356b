/// <reference types="@webgpu/types" />
import { GpuTaskError } from './task.js';

const PIPELINE_CACHE = 512;

/** Compiled compute pipelines keyed by their WGSL source, least recently used dropped past PIPELINE_CACHE. */
export class PipelineCache {
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  clear(): void {
    this.pipelines.clear();
  }

  get(code: string): Promise<GPUComputePipeline> {
    let p = this.pipelines.get(code);
    if (p) {
      // Most recently used last.
      this.pipelines.delete(code);
      this.pipelines.set(code, p);
      return p;
    }
    p = (async () => {
      const module = this.device.createShaderModule({ code });
      try {
        return await this.device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      } catch (e) {
        const info = await module.getCompilationInfo().catch(() => undefined);
        const msgs = info?.messages.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ');
        throw new GpuTaskError(`WGSL pipeline failed: ${(e as Error).message}${msgs ? ` (${msgs})` : ''}`, false);
      }
    })();
    p.catch(() => this.pipelines.delete(code));
    this.pipelines.set(code, p);
    if (this.pipelines.size > PIPELINE_CACHE) this.pipelines.delete(this.pipelines.keys().next().value!);
    return p;
  }
}
