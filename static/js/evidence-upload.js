// Upload page glue: Uppy's dashboard (drag and drop, progress per file, cancel, retry) sending
// files straight to object storage with short-lived URLs from the app, then asking the app to
// check each file. Settings come from data- attributes; no inline script is allowed by the CSP.
(function () {
  'use strict';
  var el = document.getElementById('uploader');
  if (!el || !window.Uppy) { return; }
  document.body.classList.add('js-upload');

  var cfg = el.dataset;
  var csrf = cfg.csrf;
  var uploadsUrl = cfg.uploadsUrl;
  var results = document.getElementById('upload-results');
  var MULTIPART_FROM = 64 * 1024 * 1024;
  var PART_SIZE = 16 * 1024 * 1024;
  // file id -> evidence public id (the storage key is never shown to the browser)
  var evidenceIds = {};
  var finalized = {};

  function api(method, url, body, signal) {
    var opts = {
      method: method,
      credentials: 'same-origin',
      headers: { 'Accept': 'application/json', 'X-CSRFToken': csrf },
      signal: signal
    };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (resp) {
      if (resp.status === 204) { return null; }
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (!resp.ok) {
          var err = new Error((data && data.message) || ('The server answered ' + resp.status));
          err.isServerMessage = true;
          throw err;
        }
        return data;
      });
    });
  }

  // The local store answers same-origin paths; S3 answers absolute URLs. The widget needs an
  // absolute URL either way (it parses it once the bytes are sent).
  function absolute(url) { return new URL(url, window.location.href).href; }

  function report(file, ok, text, item) {
    var li = document.createElement('li');
    li.className = ok ? 'ok' : 'bad';
    if (ok && item) {
      if (item.thumbnail_url) {
        var img = document.createElement('img');
        img.src = item.thumbnail_url;
        img.alt = '';
        img.className = 'result-thumb';
        li.appendChild(img);
      }
      var a = document.createElement('a');
      a.href = item.url;
      a.textContent = item.title;
      li.appendChild(a);
      li.appendChild(document.createTextNode(' was added.'));
      (item.notices || []).forEach(function (notice) {
        var note = document.createElement('p');
        note.className = 'result-notice';
        note.textContent = notice;
        li.appendChild(note);
      });
    } else {
      li.textContent = text;
    }
    li.dataset.file = file.name;
    results.appendChild(li);
  }

  var uppy = new Uppy.Uppy({
    autoProceed: false,
    restrictions: { maxFileSize: Number(cfg.maxBytes) || null }
  });
  var coarse = window.matchMedia && window.matchMedia('(pointer: coarse)').matches;
  uppy.use(Uppy.Dashboard, {
    inline: true,
    target: el,
    width: '100%',
    height: coarse ? 260 : 380,
    proudlyDisplayPoweredByUppy: false,
    showRemoveButtonAfterComplete: false,
    note: 'Files are checked by their content after upload.',
    // On a phone nothing is dragged: offer the camera roll and files in plain words.
    locale: coarse
      ? { strings: { dropPasteFiles: '%{browseFiles} from your phone: photos, videos or documents',
                     browseFiles: 'Choose files' } }
      : undefined
  });
  uppy.use(Uppy.AwsS3, {
    limit: 3,
    shouldUseMultipart: function (file) {
      return cfg.multipart === 'true' && file.size > MULTIPART_FROM;
    },
    getChunkSize: function (file) { return Math.max(PART_SIZE, Math.ceil(file.size / 9000)); },
    allowedMetaFields: [],
    getUploadParameters: function (file, options) {
      var previous = evidenceIds[file.id];
      if (previous && !finalized[file.id]) {
        // A retry: release the item reserved by the failed attempt.
        api('DELETE', uploadsUrl + encodeURIComponent(previous)).catch(function () {});
      }
      return api('POST', cfg.startUrl, { filename: file.name, size: file.size }, options && options.signal)
        .then(function (data) {
          evidenceIds[file.id] = data.id;
          return { method: data.method, url: absolute(data.url), fields: data.fields, headers: data.headers };
        });
    },
    createMultipartUpload: function (file) {
      return api('POST', cfg.multipartUrl, { filename: file.name, size: file.size })
        .then(function (data) {
          evidenceIds[file.id] = data.id;
          return { uploadId: data.uploadId, key: data.key };
        });
    },
    signPart: function (file, opts) {
      return api('GET', uploadsUrl + encodeURIComponent(opts.key) + '/parts/' + opts.partNumber,
        undefined, opts.signal).then(function (data) {
        data.url = absolute(data.url);
        return data;
      });
    },
    listParts: function (file, opts) {
      return api('GET', uploadsUrl + encodeURIComponent(opts.key) + '/parts', undefined, opts.signal);
    },
    completeMultipartUpload: function (file, opts) {
      return api('POST', uploadsUrl + encodeURIComponent(opts.key) + '/complete', { parts: opts.parts })
        .then(function (item) {
          finalized[file.id] = item;
          return { location: item.url };
        });
    },
    abortMultipartUpload: function (file, opts) {
      return api('DELETE', uploadsUrl + encodeURIComponent(opts.key)).catch(function () {});
    }
  });

  // A cancelled single-request upload leaves a reserved item behind: release it at once.
  uppy.on('file-removed', function (file) {
    var id = evidenceIds[file.id];
    if (id && !finalized[file.id] && !file.progress.uploadComplete) {
      api('DELETE', uploadsUrl + encodeURIComponent(id)).catch(function () {});
    }
    delete evidenceIds[file.id];
  });

  // After the bytes are stored the app checks them; only then is an item ready.
  uppy.addPostProcessor(function (fileIDs) {
    return Promise.all(fileIDs.map(function (fid) {
      var file = uppy.getFile(fid);
      if (!file) { return null; }
      uppy.emit('postprocess-progress', file, { mode: 'indeterminate', message: 'Checking…' });
      var done = finalized[fid]
        ? Promise.resolve(finalized[fid])
        : api('POST', uploadsUrl + encodeURIComponent(evidenceIds[fid]) + '/finalize');
      return done.then(function (item) {
        finalized[fid] = item;
        uppy.emit('postprocess-complete', file);
        report(file, true, '', item);
      }, function (err) {
        uppy.emit('postprocess-complete', file);
        uppy.setFileState(fid, { error: err.message });
        uppy.emit('upload-error', file, err);
        report(file, false, err.message);
      });
    }));
  });

  // Sent here from a submission element: attach every new item there, then go back to it.
  function attachAll(items) {
    return Promise.all(items.map(function (item) {
      var form = new FormData();
      form.append('csrf_token', csrf);
      form.append('element', cfg.element);
      form.append('item', item.id);
      return fetch(cfg.attachUrl, { method: 'POST', body: form, credentials: 'same-origin' });
    }));
  }
  uppy.on('complete', function (result) {
    if (!cfg.attachUrl || !cfg.next) { return; }
    var items = result.successful.map(function (f) { return finalized[f.id]; }).filter(Boolean);
    if (!items.length || result.failed.length) { return; }
    uppy.info('Attaching to your submission…', 'info', 4000);
    attachAll(items).then(function () {
      window.location.assign(cfg.next + '#element-' + cfg.element);
    }, function () {
      uppy.info('Uploaded, but could not attach. Go back to your submission and attach it there.', 'error', 8000);
    });
  });

  // "Take a photo", "Record a video", "Record audio": the captured file goes through the widget.
  document.querySelectorAll('.capture-input').forEach(function (input) {
    input.addEventListener('change', function () {
      Array.prototype.forEach.call(input.files || [], function (file) {
        try {
          uppy.addFile({ name: file.name || 'capture', type: file.type, data: file, source: 'capture' });
        } catch (err) {
          uppy.info(err.message, 'error', 6000);
        }
      });
      input.value = '';
      uppy.upload();
    });
  });

  uppy.on('upload-error', function (file, err) {
    if (err && !err.isServerMessage && file) {
      uppy.info('“' + file.name + '” did not upload: ' + err.message + '. Use retry to send it again.', 'error', 8000);
    }
  });
})();
