// Prints a password hash for the dashboard users Secret:
//   node --import tsx server/auth/hash-password-cli.ts 'the password'
//   printf '%s' 'the password' | node --import tsx server/auth/hash-password-cli.ts   (keeps it out of shell history)
// First: one clear line and exit on an unsupported Node.js, before any dependency loads.
import '../../agent/node-guard';
import { hashPassword } from './password';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // A trailing newline from `echo` or a here-string is not part of the password.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function main(): Promise<number> {
  const argument = process.argv[2];
  if (argument === '--help' || argument === '-h') {
    console.log('usage: hash-password-cli.ts <password>   or   printf %s <password> | hash-password-cli.ts');
    return 0;
  }
  if (argument === undefined && process.stdin.isTTY) {
    console.error('hash-password: give the password as the argument or on stdin (printf %s "$PASSWORD" | ...)');
    return 2;
  }
  const password = argument ?? (await readStdin());
  if (password.length === 0) {
    console.error('hash-password: the password is empty');
    return 2;
  }
  console.log(await hashPassword(password));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`hash-password: ${(error as Error).message}`);
    process.exit(1);
  },
);
