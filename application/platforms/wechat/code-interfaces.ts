import { Type } from '@sinclair/typebox';
import { paraError } from '../../../system/errors';
import { appRefs, out, rpc, s, tokenPara } from '../../schema';
import type { Interface, Services } from '../../contract';
import { WechatCode } from './code';
import type { WechatParts } from './parts';

/**
 * wechat.tpauth.code.*: code management of an authorizer mini program (第三方平台代码管理) —
 * templates, commit (trial version), trial QR code, audit (submit, status, undo), release,
 * rollback. Every one is a backend interface whose caller's apps claim must cover the platform
 * and (all but templates) the authorizer.
 */

const { codeName } = tokenPara;
const authorizerAppId = s.str(128);
const { str, int } = out;
/** a caller's apps claim may name the codeName or the appId, and must name the authorizer */
const subjects = appRefs('wechat_tp');
const empty = s.obj({});
const authorizerPara = s.obj({ codeName, authorizerAppId }, ['codeName', 'authorizerAppId']);

const code = (rt: WechatParts, sv: Services) => new WechatCode(sv, rt);
const tp = (rt: WechatParts, p: { codeName: string }) => rt.tp.require(p.codeName);

/** an item of submit_audit's item_list (a page and its service category) */
const auditItem = s.obj(
  {
    address: s.str(512),
    tag: s.text(256),
    firstClass: s.str(64),
    secondClass: s.str(64),
    thirdClass: s.str(64),
    firstId: s.int(0),
    secondId: s.int(0),
    thirdId: s.int(0),
    title: s.str(64),
  },
  ['firstClass', 'secondClass', 'firstId', 'secondId'],
);
const mediaIds = Type.Array(s.str(256), { maxItems: 20 });

const status = s.obj(
  {
    source: s.oneOf(['wechat', 'pushes']),
    state: s.oneOf(['success', 'rejected', 'auditing', 'withdrawn', 'delayed', 'unknown', 'none']),
    status: int,
    auditId: int,
    reason: str,
    screenshots: s.array(str),
    userVersion: str,
    userDesc: str,
    submittedAt: int,
    at: int,
  },
  ['source', 'state'],
);

export const codeInterfaces = (rt: WechatParts): Interface[] => [
  rpc({
    name: 'wechat.tpauth.code.templates',
    access: 'backend',
    summary:
      "The platform's code templates (gettemplatelist, component token): templateType 0 normal, 1 standard, " +
      'absent all.',
    para: s.obj({ codeName, templateType: s.int(0, 1) }, ['codeName']),
    result: s.obj(
      {
        templates: s.array(
          s.obj(
            {
              templateId: int,
              userVersion: str,
              userDesc: str,
              createTime: int,
              templateType: int,
              sourceAppId: str,
              sourceName: str,
              developer: str,
            },
            ['templateId', 'userVersion', 'userDesc', 'createTime'],
          ),
        ),
      },
      ['templates'],
    ),
    apps: subjects,
    handler: async (p, { services: sv }) => code(rt, sv).templates(await tp(rt, p), p.templateType),
  }),
  rpc({
    name: 'wechat.tpauth.code.commit',
    access: 'backend',
    summary:
      "Uploads a template as the authorizer mini program's trial version (commit); extJson is sent as the " +
      'ext_json string.',
    para: s.obj(
      {
        codeName,
        authorizerAppId,
        templateId: s.int(0),
        extJson: s.anyObject(),
        userVersion: s.str(64),
        userDesc: s.str(1024),
      },
      ['codeName', 'authorizerAppId', 'templateId', 'extJson', 'userVersion', 'userDesc'],
    ),
    result: empty,
    apps: subjects,
    handler: async (p, { services: sv }) => code(rt, sv).commit(await tp(rt, p), p.authorizerAppId, p),
  }),
  rpc({
    name: 'wechat.tpauth.code.qrcode',
    access: 'backend',
    summary: "The trial version's QR code (get_qrcode), base64, with WeChat's content type; path: the page it opens.",
    para: s.obj({ codeName, authorizerAppId, path: s.str(1024) }, ['codeName', 'authorizerAppId']),
    result: s.obj({ contentType: str, image: str }, ['contentType', 'image']),
    apps: subjects,
    handler: async (p, { services: sv }) => code(rt, sv).qrcode(await tp(rt, p), p.authorizerAppId, p.path),
  }),
  rpc({
    name: 'wechat.tpauth.code.submit',
    access: 'backend',
    summary: 'Submits the trial version for audit (submit_audit) → its auditId.',
    para: s.obj(
      {
        codeName,
        authorizerAppId,
        itemList: Type.Array(auditItem, { maxItems: 5 }),
        feedbackInfo: s.text(200),
        feedbackStuff: s.text(2048),
        versionDesc: s.text(500),
        previewInfo: s.obj({ videoIdList: mediaIds, picIdList: mediaIds }),
        ugcDeclare: s.obj({
          scene: Type.Array(s.int(0, 99), { maxItems: 16 }),
          otherSceneDesc: s.text(256),
          method: Type.Array(s.int(0, 99), { maxItems: 16 }),
          hasAuditTeam: s.int(0, 1),
          auditDesc: s.text(256),
        }),
        privacyApiNotUse: s.bool(),
        orderPath: s.str(512),
      },
      ['codeName', 'authorizerAppId'],
    ),
    result: s.obj({ auditId: int }, ['auditId']),
    apps: subjects,
    handler: async (p, { services: sv }) => {
      const json = {
        item_list: p.itemList?.map((i) => ({
          address: i.address,
          tag: i.tag,
          first_class: i.firstClass,
          second_class: i.secondClass,
          third_class: i.thirdClass,
          first_id: i.firstId,
          second_id: i.secondId,
          third_id: i.thirdId,
          title: i.title,
        })),
        feedback_info: p.feedbackInfo,
        feedback_stuff: p.feedbackStuff,
        version_desc: p.versionDesc,
        preview_info: p.previewInfo && {
          video_id_list: p.previewInfo.videoIdList,
          pic_id_list: p.previewInfo.picIdList,
        },
        ugc_declare: p.ugcDeclare && {
          scene: p.ugcDeclare.scene,
          other_scene_desc: p.ugcDeclare.otherSceneDesc,
          method: p.ugcDeclare.method,
          has_audit_team: p.ugcDeclare.hasAuditTeam,
          audit_desc: p.ugcDeclare.auditDesc,
        },
        privacy_api_not_use: p.privacyApiNotUse,
        order_path: p.orderPath,
      };
      // JSON.stringify leaves the undefined members out: WeChat gets only what was given
      return code(rt, sv).submit(await tp(rt, p), p.authorizerAppId, json);
    },
  }),
  rpc({
    name: 'wechat.tpauth.code.status',
    access: 'backend',
    summary:
      'Audit status: from WeChat (source "wechat", default: get_auditstatus for auditId, else ' +
      'get_latest_auditstatus) or from the audit pushes received (source "pushes": nothing sent; state "none" ' +
      'when none is kept).',
    para: s.obj({ codeName, authorizerAppId, auditId: s.int(1), source: s.oneOf(['wechat', 'pushes']) }, [
      'codeName',
      'authorizerAppId',
    ]),
    result: status,
    apps: subjects,
    handler: async (p, { services: sv }) => {
      if (p.source === 'pushes' && p.auditId !== undefined)
        throw paraError([
          { path: '/auditId', message: 'must be absent when source is "pushes" (pushes carry no auditid)' },
        ]);
      const app = await tp(rt, p);
      const c = code(rt, sv);
      if (p.source === 'pushes') {
        // the authorizer is checked as for every other call (1012 / 1014) though WeChat is not asked
        await rt.tp.requireAuthorizer(app, p.authorizerAppId);
        return c.pushedStatus(app, p.authorizerAppId);
      }
      return c.status(app, p.authorizerAppId, p.auditId);
    },
  }),
  rpc({
    name: 'wechat.tpauth.code.undo',
    access: 'backend',
    summary: 'Withdraws the audit under way (undocodeaudit; WeChat allows 5 a day, 10 a month).',
    para: authorizerPara,
    result: empty,
    apps: subjects,
    handler: async (p, { services: sv }) => code(rt, sv).undo(await tp(rt, p), p.authorizerAppId),
  }),
  rpc({
    name: 'wechat.tpauth.code.release',
    access: 'backend',
    summary: 'Releases the audited version (release).',
    para: authorizerPara,
    result: empty,
    apps: subjects,
    handler: async (p, { services: sv }) => code(rt, sv).release(await tp(rt, p), p.authorizerAppId),
  }),
  rpc({
    name: 'wechat.tpauth.code.versions',
    access: 'backend',
    summary: 'The versions a rollback may go back to (revertcoderelease action=get_history_version).',
    para: authorizerPara,
    result: s.obj(
      {
        versions: s.array(
          s.obj({ appVersion: str, userVersion: str, userDesc: str, commitTime: int }, [
            'appVersion',
            'userVersion',
            'userDesc',
            'commitTime',
          ]),
        ),
      },
      ['versions'],
    ),
    apps: subjects,
    handler: async (p, { services: sv }) => code(rt, sv).versions(await tp(rt, p), p.authorizerAppId),
  }),
  rpc({
    name: 'wechat.tpauth.code.rollback',
    access: 'backend',
    summary: 'Rolls the live version back (revertcoderelease): to the previous one, or to appVersion (see versions).',
    para: s.obj({ codeName, authorizerAppId, appVersion: s.match('^[0-9]{1,20}$') }, ['codeName', 'authorizerAppId']),
    result: empty,
    apps: subjects,
    handler: async (p, { services: sv }) => code(rt, sv).rollback(await tp(rt, p), p.authorizerAppId, p.appVersion),
  }),
];
