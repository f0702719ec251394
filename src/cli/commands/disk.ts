import { UserError } from '../../common/errors.js';

export async function main(argv: string[]): Promise<number> {
  throw new UserError(`disk: not available in this build (${argv.join(' ')})`);
}
