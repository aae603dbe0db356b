/// <reference types="@webgpu/types" />
import { USAGE_STORAGE } from './buffers.js';
import type { KernelPlan } from './wgsl/elementwise.js';
import { GpuTaskError } from './task.js';

/** Encodes a task's compute passes into one command buffer and submits it, device errors becoming GpuTaskError. */
export class Submitter {
  /** Parameter buffers of the submission being encoded (destroyed when it has run). */
  private temps: GPUBuffer[] = [];

  constructor(private readonly device: GPUDevice) {}

  pass(enc: GPUCommandEncoder, pipeline: GPUComputePipeline, buffers: GPUBuffer[], plan: KernelPlan, z = 1): void {
    if (plan.params) {
      // The kernel's per-chunk numbers (see Params): a small buffer, destroyed once the submission ran.
      const words = plan.params;
      const b = this.device.createBuffer({
        size: Math.max(16, Math.ceil((words.length * 4) / 16) * 16),
        usage: USAGE_STORAGE,
        mappedAtCreation: true,
      });
      new Uint32Array(b.getMappedRange(), 0, words.length).set(words);
      b.unmap();
      this.temps.push(b);
      buffers = [...buffers, b];
    }
    const bind = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(plan.dispatch[0], plan.dispatch[1], z);
    pass.end();
  }

  /** Encode, submit, and resolve when the queue has run it; device errors become GpuTaskError. */
  async submit(encode: (enc: GPUCommandEncoder) => void): Promise<void> {
    const d = this.device;
    d.pushErrorScope('out-of-memory');
    d.pushErrorScope('validation');
    let thrown: unknown;
    const temps: GPUBuffer[] = (this.temps = []);
    try {
      const enc = d.createCommandEncoder();
      encode(enc);
      d.queue.submit([enc.finish()]);
    } catch (e) {
      thrown = e;
    }
    const validation = d.popErrorScope();
    const oom = d.popErrorScope();
    try {
      const [v, o] = await Promise.all([validation, oom]);
      if (thrown) throw thrown;
      if (o) throw new GpuTaskError(`GPU out of memory: ${o.message}`, true);
      if (v) throw new GpuTaskError(`GPU validation error: ${v.message}`, false);
      await d.queue.onSubmittedWorkDone();
    } finally {
      for (const b of temps) b.destroy();
    }
  }
}
