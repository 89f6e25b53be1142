// The upload widget's bundle: only the Uppy parts the upload page uses (the core, the
// dashboard and the S3-style direct upload), built from the npm packages by esbuild at
// `make vendor` into static/vendor/uppy/ (never committed). static/js/evidence-upload.js reads
// them from window.Uppy.
import Uppy from '@uppy/core';
import Dashboard from '@uppy/dashboard';
import AwsS3 from '@uppy/aws-s3';

window.Uppy = { Uppy, Dashboard, AwsS3 };
