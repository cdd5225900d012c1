// Runs s3rver (an S3-compatible server) on 127.0.0.1 for test/helpers/s3-server.ts, in a process of
// its own started with --openssl-legacy-provider: s3rver makes ListObjectsV2 continuation tokens
// with DES, which Node's OpenSSL 3 has only in its legacy provider. Prints the port, then serves
// until its parent closes its stdin. A third argument is an origin pattern (one `*` allowed) that
// the bucket's CORS rule lets read it, as a page would need.
const S3rver = require('s3rver');

const [directory, bucket, corsOrigin] = process.argv.slice(2);
// Range and SigV4's headers are asked in preflights; the region and range headers are exposed.
const cors = (origin) => `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>${origin}</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>Content-Range</ExposeHeader>
    <ExposeHeader>Content-Length</ExposeHeader>
    <ExposeHeader>x-amz-bucket-region</ExposeHeader>
  </CORSRule>
</CORSConfiguration>`;
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: bucket, configs: corsOrigin ? [cors(corsOrigin)] : [] }],
});
server.run().then(({ port }) => {
  process.stdout.write(`${port}\n`);
  process.stdin.on('end', () => server.close().then(() => process.exit(0)));
  process.stdin.resume();
});
