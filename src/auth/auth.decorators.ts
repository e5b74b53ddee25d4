import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';

import { Principal } from '../token-state/token-state.types';
import { UserRole } from '../users/user.entity';

export const IS_PUBLIC = 'verso:isPublic';
export const REQUIRED_ROLE = 'verso:requiredRole';

/** Opt a route or controller out of the global token guard. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** Require a role, read from the user's database row on every request, not from a claim. */
export const RequireRole = (role: UserRole) => SetMetadata(REQUIRED_ROLE, role);

/** Inject the verified caller of a guarded route. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const request = context.switchToHttp().getRequest<{ user?: Principal }>();
  if (!request.user) throw new Error('CurrentPrincipal used on a route without the token guard');
  return request.user;
});
