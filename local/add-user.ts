/**
 * `npm run local:user -- <name>`: creates the local user `local:<name>`, or gives it a new token
 * (the old one stops working at once), and prints the token as the last line. A running local
 * mode accepts it without a restart. The user is a member of nothing until a project owner adds it.
 */
import { resolve } from "node:path";
import { LOCAL_USER } from "./platform.ts";
import { addLocalUser, localPrincipal } from "./tokens.ts";

const [name, ...rest] = process.argv.slice(2);
if (!name || rest.length > 0) {
  process.stderr.write("usage: npm run local:user -- <name>\n");
  process.exit(2);
}
if (name === LOCAL_USER) {
  process.stderr.write(
    `'${LOCAL_USER}' is the platform's own user (the installation admin); its token is in .byom/local.json. Choose another name.\n`,
  );
  process.exit(2);
}
const home = resolve(process.env.BYOM_HOME || ".byom");
try {
  const { principal, token } = addLocalUser(home, name);
  process.stderr.write(
    `${principal} can now call the API with 'Authorization: Bearer <token>' (or BYOM_TOKEN=<token> npx byom …). ` +
      `It sees no project until an owner adds it: npx byom projects members add ${localPrincipal(name)} --project <project> --role viewer.\n`,
  );
  process.stdout.write(`${token}\n`);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}
