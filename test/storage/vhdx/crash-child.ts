/**
 * Child process of the crash test (not a test itself: without arguments it does nothing). Runs the
 * op stream on an image and prints "op K" before op K starts and "ack K" once op K (a flush or a
 * resize) has made everything up to it durable. Stdout to a pipe is synchronous on Linux, so a line
 * the parent sees was printed before the op ran.
 */
import { vhdxDriver } from '../../../src/storage/vhdx/driver.js';
import { resizeOpenImage } from '../../../src/storage/vhdx/resize.js';
import type { VhdxImage } from '../../../src/storage/vhdx/vhdx-image.js';
import { crashOps, type CrashPlan } from './crash-ops.js';

async function main(file: string, plan: CrashPlan): Promise<void> {
  const img = (await vhdxDriver.open(file, { readOnly: false })) as VhdxImage;
  let k = 0;
  for (const op of crashOps(plan, img.sizeBytes)) {
    process.stdout.write(`op ${k}\n`);
    if (op.kind === 'write') await img.write(op.sector, op.data);
    else if (op.kind === 'discard') await img.discard(op.sector, op.count);
    else if (op.kind === 'flush') await img.flush();
    else await resizeOpenImage(img, op.size, false);
    if (op.kind === 'flush' || op.kind === 'resize') process.stdout.write(`ack ${k}\n`);
    k++;
  }
}

const [file, plan] = process.argv.slice(2);
if (file !== undefined && plan !== undefined) {
  main(file, JSON.parse(plan) as CrashPlan).catch((e: unknown) => {
    process.stderr.write(`${String(e)}\n`);
    process.exit(3);
  });
}
