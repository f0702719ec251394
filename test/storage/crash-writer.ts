/**
 * Child process for the crash-consistency test: performs writes, resizes or a merge on an image and
 * prints "ack N" after each flush that makes writes 0..N-1 durable. The test SIGKILLs it at random
 * moments. Write i always goes to slot perm[i] with data pattern(seed, i), so the test can replay.
 */
import { openImage } from '../../src/storage/registry.js';
import { vhdDriver } from '../../src/storage/vhd/driver.js';
import { mergeImage } from '../../src/storage/ops/merge.js';
import { crashPlan } from './crash-plan.js';

const [mode, file, seedText] = process.argv.slice(2);
const seed = Number(seedText);
const say = (line: string): void => {
  process.stdout.write(line + '\n');
};

async function writes(): Promise<void> {
  const plan = crashPlan(seed);
  let img = await openImage(file!, { readOnly: false });
  say('ready');
  for (let i = 0; i < plan.writes.length; i++) {
    const w = plan.writes[i]!;
    if (w.sector * 512 + w.data.length > img.sizeBytes) {
      // Resize mode: grow before writing past the end, with the image closed as the CLI does it.
      await img.close();
      await vhdDriver.resize!(file!, plan.grownSize, { allowShrink: false });
      img = await openImage(file!, { readOnly: false });
      say(`resized ${plan.grownSize}`);
    }
    await img.write(w.sector, w.data);
    if (i % 3 === 2) {
      await img.flush();
      say(`ack ${i + 1}`);
    }
  }
  await img.flush();
  say(`ack ${plan.writes.length}`);
  await img.close();
}

async function merge(): Promise<void> {
  say('ready');
  await mergeImage(file!, undefined);
  say('merged');
}

await (mode === 'merge' ? merge() : writes());
